/**
 * Apache Spark with Iceberg's runtime (Maven Central, local[2]) reads the Iceberg tables Tributary
 * writes, through the filesystem path (Iceberg's Hadoop catalog over `<LAKE_URI>/_iceberg`), and
 * agrees with DuckDB on counts, exact decimal sums and microsecond timestamps; VERSION AS OF and
 * TIMESTAMP AS OF give an earlier snapshot's rows. One JVM for the whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@tributary/shared/config";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import type { DataFile } from "@tributary/shared/lake/iceberg/manifest";
import { timeTransform } from "@tributary/shared/lake/iceberg/schema";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { createLakeStore } from "@tributary/shared/lake/store";
import { SparkSession } from "@tributary/stack/testing/spark";

const config = loadConfig();
const root = mkdtempSync(join(tmpdir(), "iceberg-spark-"));
const store = createLakeStore({ lake: { ...config.lake, uri: root }, s3: config.s3 });
let spark: SparkSession;

beforeAll(async () => {
  spark = await SparkSession.start({
    stateDir: config.stateDir,
    conf: {
      "spark.sql.catalog.lake": "org.apache.iceberg.spark.SparkCatalog",
      "spark.sql.catalog.lake.type": "hadoop",
      "spark.sql.catalog.lake.warehouse": join(root, "_iceberg"),
    },
  });
}, 400_000);

afterAll(async () => {
  await spark?.[Symbol.asyncDispose]();
  rmSync(root, { recursive: true, force: true });
});

const db = await DuckDBInstance.create(":memory:");
const duck = await db.connect();

/** Writes `n` trades of one hour with DuckDB and describes the file for Iceberg. */
async function writeTrades(key: string, hour: number, n: number, firstId: number): Promise<DataFile> {
  const path = join(root, key);
  mkdirSync(dirname(path), { recursive: true });
  await duck.run(`COPY (
    SELECT 'BTC/USD' AS symbol, (${firstId} + i)::BIGINT AS trade_id,
           ('30243.4' || i || '1')::DECIMAL(38,10) AS price,
           TIMESTAMPTZ '2024-05-01 ${String(hour).padStart(2, "0")}:00:00.000001+00' + i * INTERVAL 1 SECOND + i * INTERVAL 7 MICROSECOND AS ts
    FROM range(${n}) t(i)) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
  return {
    path: store.url(key),
    partition: [timeTransform("hour", BigInt(Date.UTC(2024, 4, 1, hour)) * 1000n), "BTC/USD"],
    recordCount: n,
    fileSizeBytes: statSync(path).size,
  };
}

async function duckdb(sql: string): Promise<string[][]> {
  const r = await duck.runAndReadAll(sql);
  return r.getRows().map((row) => row.map((v) => String(v)));
}

describe("Spark reads Tributary's Iceberg tables through the filesystem path", () => {
  test("rows, exact decimal sums, µs timestamps and time travel agree with DuckDB", async () => {
    const table = new IcebergTable(
      new EmbeddedCatalog(store),
      store,
      { namespace: "silver", name: "trades" },
      {
        columns: [
          ["symbol", "VARCHAR"],
          ["trade_id", "BIGINT"],
          ["price", "DECIMAL(38,10)"],
          ["ts", "TIMESTAMPTZ"],
        ],
        partitionBy: [
          ["ts", "hour"],
          ["symbol", "identity"],
        ],
      },
    );
    const a = await writeTrades(
      "silver/trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/a.parquet",
      14,
      300,
      1,
    );
    const first = await table.commit(() => ({ operation: "append", add: [a], remove: [] }));
    await Bun.sleep(20);
    const b = await writeTrades(
      "silver/trades/year=2024/month=5/day=1/hour=15/pair=BTC_USD/b.parquet",
      15,
      200,
      1000,
    );
    const a2 = await writeTrades(
      "silver/trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/a2.parquet",
      14,
      400,
      1,
    );
    const last = await table.commit(() => ({ operation: "overwrite", add: [b, a2], remove: [a.path] }));

    const current = `read_parquet(['${root}/silver/trades/year=2024/month=5/day=1/hour=15/pair=BTC_USD/b.parquet', '${root}/silver/trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/a2.parquet'])`;
    const agg = "count(*), sum(price), min(ts), max(ts), sum(trade_id)";
    const [want] = await duckdb(
      `SELECT count(*), sum(price)::VARCHAR, strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%fZ'), strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%fZ'), sum(trade_id) FROM ${current}`,
    );
    const got = await spark.sql(`SELECT ${agg} FROM lake.silver.trades`);
    expect(got.rows[0]).toEqual(want as string[]);

    const [old] = await duckdb(
      `SELECT count(*), sum(price)::VARCHAR FROM read_parquet('${root}/silver/trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/a.parquet')`,
    );
    const version = await spark.sql(
      `SELECT count(*), sum(price) FROM lake.silver.trades VERSION AS OF ${first?.["snapshot-id"]}`,
    );
    expect(version.rows[0]).toEqual(old as string[]);
    const asOf = new Date((first?.["timestamp-ms"] as number) + 5).toISOString();
    const time = await spark.sql(`SELECT count(*) FROM lake.silver.trades TIMESTAMP AS OF '${asOf}'`);
    expect(time.rows[0]).toEqual([old?.[0] as string]);

    const history = await spark.sql(
      "SELECT snapshot_id, operation FROM lake.silver.trades.snapshots ORDER BY committed_at",
    );
    expect(history.rows).toEqual([
      [String(first?.["snapshot-id"]), "append"],
      [String(last?.["snapshot-id"]), "overwrite"],
    ]);
    const pruned = await spark.sql(
      "SELECT count(*) FROM lake.silver.trades WHERE symbol = 'BTC/USD' AND ts >= TIMESTAMP '2024-05-01 15:00:00'",
    );
    expect(pruned.rows[0]).toEqual(["200"]);
  }, 300_000);
});
