/** A query result downloads as RFC 4180 CSV or as Parquet with the result's exact types and values. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { type RunningConsole, startConsole } from "../server.ts";
import { resultToCsv } from "./download.ts";

const SQL = `SELECT * FROM (VALUES
  (1, 'BTC/USD', 64012.12345678::DECIMAL(18,8), TIMESTAMPTZ '2026-12-05 06:55:11.174565+00', 'says "hi", twice'),
  (2, 'ETH/USD', 3001.5::DECIMAL(18,8), NULL, 'two
lines')) t(trade_id, symbol, price, ts, note) ORDER BY trade_id`;

let scratch: string;
let running: RunningConsole;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-download-"));
  const lakeRoot = join(scratch, "lake");
  for (const layer of ["bronze", "silver", "gold"]) mkdirSync(join(lakeRoot, layer), { recursive: true });
  running = await startConsole(
    loadConfig({
      ...process.env,
      LAKE_URI: lakeRoot,
      TRIBUTARY_STATE_DIR: join(scratch, "state"),
      CONSOLE_SOURCES: "none",
    }),
    { port: 0, log: createLogger("download", "error", () => {}) },
  );
}, 30_000);

afterAll(async () => {
  await running?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const form = (sql: string, format: string) => {
  const body = new URLSearchParams({ sql, format });
  return running.app.request("/query/download", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "http://localhost" },
    body: body.toString(),
  });
};

describe("downloading a query result", () => {
  test("CSV quotes what needs quoting, keeps decimals and RFC 3339 times exact, NULL empty", async () => {
    const res = await form(SQL, "csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="tributary-query-\d{8}T\d{6}Z\.csv"$/,
    );
    expect(await res.text()).toBe(
      "trade_id,symbol,price,ts,note\r\n" +
        '1,BTC/USD,64012.12345678,2026-12-05T06:55:11.174565Z,"says ""hi"", twice"\r\n' +
        '2,ETH/USD,3001.50000000,,"two\nlines"\r\n',
    );
  });

  test("Parquet reads back in DuckDB with DECIMAL, TIMESTAMPTZ and every value unchanged", async () => {
    const res = await running.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/vnd.apache.parquet" },
      body: JSON.stringify({ sql: SQL }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-truncated")).toBe("false");
    const file = join(scratch, "result.parquet");
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    try {
      await c.run("SET TimeZone = 'UTC'");
      const types = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
      expect(types.getRows().map((r) => [r[0], r[1]])).toEqual([
        ["trade_id", "INTEGER"],
        ["symbol", "VARCHAR"],
        ["price", "DECIMAL(18,8)"],
        ["ts", "TIMESTAMP WITH TIME ZONE"],
        ["note", "VARCHAR"],
      ]);
      const same = await c.runAndReadAll(
        `SELECT count(*) FROM (SELECT * FROM read_parquet('${file}') EXCEPT ${SQL.replace(" ORDER BY trade_id", "")})`,
      );
      expect(same.getRows()[0]?.[0]).toBe(0n);
    } finally {
      c.closeSync();
      db.closeSync();
    }
    // The scratch file is gone: nothing is left in the console's state directory.
    const spill = join(scratch, "state", "console", "spill", String(process.pid));
    expect(readdirSync(spill)).toEqual([]);
  });

  test("the same refusals as the SQL box, and an unknown format named", async () => {
    const refused = await form("COPY (SELECT 1) TO '/tmp/x.csv'", "csv");
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("COPY is not allowed");
    const format = await form("SELECT 1", "xlsx");
    expect(format.status).toBe(400);
    expect(await format.text()).toContain("format: expected csv or parquet");
  });

  test("an empty result is a header line; duplicate column names stay apart in Parquet", async () => {
    expect(resultToCsv({ columns: [{ name: "a", type: "INTEGER" }], rows: [] })).toBe("a\r\n");
    const res = await running.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/vnd.apache.parquet" },
      body: JSON.stringify({ sql: "SELECT 1 AS a, 2 AS a" }),
    });
    expect(res.status).toBe(200);
  });
});
