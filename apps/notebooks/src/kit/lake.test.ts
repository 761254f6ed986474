import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { Type } from "apache-arrow";
import { buildLakeFixture } from "../testing/lake-fixture.ts";
import { arrowRows, formatScaled } from "./arrow.ts";
import { type Lake, LakeError, openLake } from "./lake.ts";

let dir: string;
let lake: Lake;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tributary-lake-kit-"));
  await buildLakeFixture(dir, { hours: 3, tradeEverySeconds: 60 });
  lake = await openLake(loadConfig({ LAKE_URI: dir }));
}, 60_000);

afterAll(() => {
  lake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("openLake", () => {
  test("lists the committed datasets with file counts and answers has()", () => {
    const names = lake.datasets().map((d) => `${d.layer}/${d.dataset}`);
    expect(names).toContain("silver/kraken_trades");
    expect(names).toContain("gold/candles_1m");
    expect(names).toContain("gold/tesouro_yield_curve");
    const trades = lake.datasets().find((d) => d.dataset === "kraken_trades");
    expect(trades?.files).toBe(3 * 2); // 3 hours × 2 symbols
    expect(lake.has("silver", "kraken_trades")).toBe(true);
    expect(lake.has("gold", "nope")).toBe(false);
    expect(lake.path("gold", "candles_1m")).toBe(`${dir}/gold/candles_1m/**/*.parquet`);
  });

  test("reads the contract symbol (BTC/USD) from the files, its path form as pair, hours as integers", async () => {
    const rows = await lake.query<{ symbol: string; pair: string; hour: bigint }>(
      "SELECT DISTINCT symbol, pair, hour FROM silver.kraken_trades ORDER BY ALL LIMIT 1",
    );
    expect(rows[0]?.symbol).toBe("BTC/USD");
    expect(rows[0]?.pair).toBe("BTC_USD");
    expect(typeof rows[0]?.hour).toBe("bigint");
    const symbols = await lake.query<{ symbol: string }>(
      "SELECT DISTINCT symbol FROM gold.candles_1h ORDER BY 1",
    );
    expect(symbols.map((r) => r.symbol)).toEqual(["BTC/USD", "ETH/USD"]);
  });

  test("typed rows keep DECIMAL exact, BIGINT as bigint and timestamps in UTC with microseconds", async () => {
    const [row] = await lake.query<{
      price: string;
      trade_id: bigint;
      ts: string;
      micro: string;
      day: string;
    }>(`
      SELECT price, trade_id, ts, TIMESTAMPTZ '2024-03-04 10:11:12.345678+00' AS micro, DATE '2024-03-04' AS day
      FROM silver.kraken_trades WHERE symbol = 'BTC/USD' ORDER BY trade_id LIMIT 1`);
    expect(row?.price).toMatch(/^\d+\.\d{10}$/);
    expect(typeof row?.trade_id).toBe("bigint");
    expect(row?.ts).toBe("2024-03-04T00:00:00.000000Z");
    expect(row?.micro).toBe("2024-03-04T10:11:12.345678Z");
    expect(row?.day).toBe("2024-03-04");
  });

  test("the session runs in UTC", async () => {
    const [row] = await lake.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
    expect(row?.tz).toBe("UTC");
  });

  test("arrow() returns Decimal128, µs UTC timestamps and Int64 with exact values", async () => {
    const table = await lake.arrow(`
      SELECT symbol, bucket_start, close, trade_count, 0.1::DECIMAL(38,10) - 0.3::DECIMAL(38,10) AS neg
      FROM gold.candles_1h WHERE symbol = 'ETH/USD' ORDER BY bucket_start`);
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
    expect(types.close?.typeId).toBe(Type.Decimal);
    expect(types.bucket_start?.typeId).toBe(Type.Timestamp);
    expect(types.trade_count?.typeId).toBe(Type.Int);
    expect(table.numRows).toBe(3);
    const exact = await lake.query<{ close: string }>(
      "SELECT close FROM gold.candles_1h WHERE symbol = 'ETH/USD' ORDER BY bucket_start",
    );
    const rows = arrowRows(table);
    expect(rows.map((r) => r.close)).toEqual(exact.map((r) => r.close));
    expect(rows[0]?.bucket_start).toBe("2024-03-04T00:00:00.000000Z");
    expect(rows[0]?.neg).toBe("-0.2000000000");
    expect(typeof rows[0]?.trade_count).toBe("bigint");
  });

  test("a failing query is a LakeError that shows the SQL", async () => {
    const err = await lake.query("SELECT * FROM gold.missing_dataset").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeError);
    expect(String((err as Error).message)).toContain("gold.missing_dataset");
  });

  test("a lake directory that does not exist opens with no datasets", async () => {
    await using empty = await openLake(loadConfig({ LAKE_URI: join(dir, "nothing-here") }));
    expect(empty.datasets()).toEqual([]);
    expect(empty.has("silver", "kraken_trades")).toBe(false);
  });
});

test("formatScaled renders unscaled integers exactly", () => {
  expect(formatScaled(15000000000n, 10)).toBe("1.5000000000");
  expect(formatScaled(-5n, 2)).toBe("-0.05");
  expect(formatScaled(123n, 0)).toBe("123");
});
