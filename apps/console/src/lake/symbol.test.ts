/**
 * The console reads the contract's values (lake layout v2, docs/contracts.md "Lake"): its SQL box
 * and lake browser show `symbol = 'BTC/USD'` from the files, `pair` as the path form, and the time
 * partitions as BIGINT, like DuckDB and Spark outside (apps/lake/src/readers/hive.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { RunningConsole } from "../server.ts";
import { startLakeConsole } from "../testing/lake-console.ts";
import { createLakeFixture, type LakeFixture } from "../testing/lake-fixture.ts";

let lake: LakeFixture;
let consoleApp: RunningConsole;

beforeAll(async () => {
  lake = await createLakeFixture({ hours: 2 });
  consoleApp = await startLakeConsole(lake.root, "console-symbol");
}, 120_000);

afterAll(async () => {
  await consoleApp?.stop();
  rmSync(lake.root, { recursive: true, force: true });
});

async function query(sql: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const res = await consoleApp.app.request("/api/query", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { columns: string[]; rows: unknown[][] };
}

describe("the console reads lake layout v2", () => {
  test("the SQL box answers symbol = 'BTC/USD' in silver and gold, with pair as its path form", async () => {
    for (const view of ["silver.kraken_trades", "gold.candles_1h"]) {
      const r = await query(`SELECT DISTINCT symbol, pair FROM ${view} ORDER BY ALL`);
      expect([view, r.rows]).toEqual([
        view,
        [
          ["BTC/USD", "BTC_USD"],
          ["ETH/USD", "ETH_USD"],
        ],
      ]);
    }
    const copied = await query("SELECT count(*) AS n FROM silver.kraken_trades WHERE symbol = 'BTC/USD'");
    expect(Number(copied.rows[0]?.[0])).toBeGreaterThan(0);
  });

  test("time partitions are BIGINT in the SQL box and the lake browser's schema", async () => {
    const r = await query(
      "SELECT DISTINCT typeof(year), typeof(month), typeof(day), typeof(hour), typeof(pair) FROM silver.kraken_trades",
    );
    expect(r.rows).toEqual([["BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR"]]);
    const res = await consoleApp.app.request("/api/lake/silver/kraken_trades");
    const body = (await res.json()) as {
      schema: { columns: string[]; rows: unknown[][] };
      sample: { columns: Array<{ name: string }>; rows: unknown[][] };
    };
    const types = new Map(body.schema.rows.map((row) => [row[0], row[1]]));
    expect(["year", "month", "day", "hour", "pair", "symbol"].map((c) => types.get(c))).toEqual([
      "BIGINT",
      "BIGINT",
      "BIGINT",
      "BIGINT",
      "VARCHAR",
      "VARCHAR",
    ]);
    const symbolAt = body.sample.columns.findIndex((c) => c.name === "symbol");
    expect(new Set(body.sample.rows.map((row) => row[symbolAt]))).toEqual(new Set(["BTC/USD"]));
  });
});
