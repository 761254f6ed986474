/**
 * Readers that know nothing of Tributary see the contract's values in a lake built by the real jobs
 * (lake layout v2, docs/contracts.md "Lake"): DuckDB with `hive_partitioning = true` and Apache
 * Spark's partition discovery both read `symbol = 'BTC/USD'` from the files, the symbol's path form
 * as `pair`, and the time levels as integers. README's DuckDB example runs here as written.
 * One Spark JVM for the file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@tributary/shared/config";
import { SparkSession } from "@tributary/stack/testing/spark";
import { buildLakeFixture } from "../testing/lake-fixture.ts";

const root = mkdtempSync(join(tmpdir(), "layout-hive-"));
const lakeDir = join(root, "lake");
const config = loadConfig();
const db = await DuckDBInstance.create(":memory:");
const duck = await db.connect();
let spark: SparkSession;

/** Datasets checked, with the partition keys each must show. */
const DATASETS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["bronze/kraken_trades", ["year", "month", "day", "hour", "pair"]],
  ["bronze/cdc_public_tesouro_prices", ["year", "month", "day"]],
  ["silver/kraken_trades", ["year", "month", "day", "hour", "pair"]],
  ["silver/kraken_ticker", ["year", "month", "day", "hour", "pair"]],
  ["gold/candles_1m", ["pair"]],
  ["gold/data_quality_hourly", ["pair"]],
];
const TIME_KEYS = new Set(["year", "month", "day", "hour"]);

beforeAll(async () => {
  await buildLakeFixture(lakeDir, { hours: 3, tradeEverySeconds: 120 });
  spark = await SparkSession.start({ stateDir: config.stateDir, conf: {} });
}, 400_000);

afterAll(async () => {
  await spark?.[Symbol.asyncDispose]();
  duck.closeSync();
  db.closeSync();
  rmSync(root, { recursive: true, force: true });
});

async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

describe("plain Hive readers of a v2 lake", () => {
  test("DuckDB (hive_partitioning) reads symbol = 'BTC/USD' and BIGINT time partitions in every dataset", async () => {
    for (const [dataset, keys] of DATASETS) {
      const scan = `read_parquet('${lakeDir}/${dataset}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;
      const types = new Map(
        (await duckRows(`DESCRIBE SELECT * FROM ${scan}`)).map((r) => [r.column_name, r.column_type]),
      );
      for (const k of keys)
        expect([dataset, k, types.get(k)]).toEqual([dataset, k, TIME_KEYS.has(k) ? "BIGINT" : "VARCHAR"]);
      if (!types.has("symbol")) continue;
      const symbols = await duckRows(`SELECT DISTINCT symbol, pair FROM ${scan} ORDER BY ALL`);
      expect([dataset, symbols]).toEqual([
        dataset,
        [
          { symbol: "BTC/USD", pair: "BTC_USD" },
          { symbol: "ETH/USD", pair: "ETH_USD" },
        ],
      ]);
    }
  });

  test("README's DuckDB example returns BTC/USD rows", async () => {
    const readme = readFileSync(join(import.meta.dir, "../../../../README.md"), "utf8");
    const sql = /`duckdb -c "([^"]+)"`/.exec(readme)?.[1];
    expect(sql).toBeDefined();
    const rows = await duckRows((sql as string).replaceAll("'lake/", `'${lakeDir}/`));
    expect(rows.length).toBe(5);
    for (const r of rows) {
      expect(r.symbol).toBe("BTC/USD");
      expect(r.pair).toBe("BTC_USD");
      expect(typeof r.hour).toBe("bigint");
    }
  });

  test("Spark's partition discovery reads symbol = 'BTC/USD', pair as string and int time partitions", async () => {
    for (const [dataset, keys] of DATASETS) {
      const path = `parquet.\`${lakeDir}/${dataset}\``;
      const typed = await spark.sql(
        `SELECT ${keys.map((k) => `typeof(${k})`).join(", ")} FROM ${path} LIMIT 1`,
      );
      expect([dataset, typed.rows[0]]).toEqual([
        dataset,
        keys.map((k) => (TIME_KEYS.has(k) ? "int" : "string")),
      ]);
      if (dataset.startsWith("bronze/")) continue; // bronze holds raw bytes, no symbol column
      const symbols = await spark.sql(`SELECT DISTINCT symbol, pair FROM ${path} ORDER BY symbol`);
      expect([dataset, symbols.rows]).toEqual([
        dataset,
        [
          ["BTC/USD", "BTC_USD"],
          ["ETH/USD", "ETH_USD"],
        ],
      ]);
    }
  }, 180_000);

  test("DuckDB and Spark count the same rows per pair and hour", async () => {
    const dataset = "silver/kraken_trades";
    const ours = await duckRows(
      `SELECT pair, year, month, day, hour, count(*)::BIGINT AS n FROM read_parquet('${lakeDir}/${dataset}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`,
    );
    const theirs = await spark.sql(
      `SELECT pair, year, month, day, hour, count(*) AS n FROM parquet.\`${lakeDir}/${dataset}\` GROUP BY ALL ORDER BY ALL`,
    );
    expect(theirs.rows).toEqual(ours.map((r) => [r.pair, r.year, r.month, r.day, r.hour, r.n].map(String)));
    expect(ours.length).toBeGreaterThan(2);
  }, 180_000);
});
