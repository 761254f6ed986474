import { expect, test } from "bun:test";
import { openDuck, sqlString } from "./duckdb.ts";

const setting = async (duck: Awaited<ReturnType<typeof openDuck>>, name: string) =>
  (
    await duck.connection.runAndReadAll(`SELECT current_setting(${sqlString(name)})::VARCHAR`)
  ).getRows()[0]?.[0];

test("openDuck: UTC, creation settings, prepare on the first connection", async () => {
  using duck = await openDuck({
    settings: { threads: "1", memory_limit: "64MB" },
    prepare: async (c) => {
      await c.run("CREATE TABLE prepared AS SELECT 42 AS n");
    },
  });
  expect(await setting(duck, "TimeZone")).toBe("UTC");
  expect(await setting(duck, "threads")).toBe("1");
  expect(await setting(duck, "memory_limit")).toMatch(/^6\d\.\d MiB$/);
  const other = await duck.instance.connect();
  expect((await other.runAndReadAll("SELECT n FROM prepared")).getRows()).toEqual([[42]]);
  other.closeSync();
});

test("openDuck: a failing prepare rejects with its error; close is idempotent and ends every query", async () => {
  await expect(
    openDuck({
      prepare: async () => {
        throw new Error("prepare refused");
      },
    }),
  ).rejects.toThrow("prepare refused");
  const duck = await openDuck();
  duck.close();
  duck.close();
  await expect(duck.connection.run("SELECT 1")).rejects.toThrow();
});

test("sqlString doubles quotes", () => {
  expect(sqlString("it's")).toBe("'it''s'");
});
