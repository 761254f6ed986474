/**
 * Apache Spark with Iceberg's runtime (Maven Central, local[2]) reads the Iceberg tables Tributary
 * writes and agrees with DuckDB over the Hive tree on counts, exact decimal sums, microsecond
 * timestamps and list elements; VERSION AS OF and TIMESTAMP AS OF give an earlier snapshot's rows.
 * Through the filesystem path (Iceberg's Hadoop catalog over `<LAKE_URI>/_iceberg`): hand-made
 * commits, two runs of the silver and gold jobs, and every table of a lake the real jobs committed
 * (market, book, keyed and keyless CDC). Through Iceberg's REST catalog (the stack's service,
 * started privately): every table of the same kind of lake committed through it, and a bronze table
 * the real writer landed from Kafka through it, with a kill -9 of the writer midway, holding every
 * produced record once. One Spark JVM for the whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import type { DataFile } from "@tributary/shared/lake/iceberg/manifest";
import { currentSnapshot } from "@tributary/shared/lake/iceberg/metadata";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { timeTransform } from "@tributary/shared/lake/iceberg/schema";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { privateRestCatalog } from "@tributary/stack/testing/private-rest";
import { icebergCatalogConf, SparkSession } from "@tributary/stack/testing/spark";
import { spawnWriter, tradesWriterArgs } from "../bronze/child.ts";
import { snapshotOffsets } from "../bronze/table-commit.ts";
import { createTestTopic, produceTrades, testProducer, tradeMessage } from "../bronze/testing.ts";
import { runGoldMarket } from "../gold/market/market.ts";
import type { LakeJobEnv } from "../runtime/env.ts";
import { cdcDatasetName, cdcHistoryDatasetName, tesouroTable } from "../silver/cdc/tables.ts";
import { SILVER_TRADES_JOB } from "../silver/datasets.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { type BronzeRecord, commitBronze, tradeJson } from "../testing/bronze-fixture.ts";
import { everyTableAgrees, secondSilverRun, type TableEngine } from "../testing/every-table.ts";

const config = loadConfig();
const root = mkdtempSync(join(tmpdir(), "iceberg-spark-"));
const store = createLakeStore({ lake: { ...config.lake, uri: root }, s3: config.s3 });
let spark: SparkSession;

/** A lake the real jobs commit through the embedded catalog, read by Spark's Hadoop catalog `fs`. */
const fsRoot = join(root, "fs-lake");
/** A second lake whose tables are committed through the stack's REST catalog, run privately. */
const restRoot = join(root, "rest-lake");
const rest = privateRestCatalog(restRoot, root);
const restConfig = rest.config;
beforeAll(async () => {
  mkdirSync(restRoot, { recursive: true });
  [spark] = await Promise.all([
    SparkSession.start({
      stateDir: config.stateDir,
      conf: {
        ...icebergCatalogConf("lake", { type: "hadoop", warehouse: join(root, "_iceberg") }),
        ...icebergCatalogConf("fs", { type: "hadoop", warehouse: join(fsRoot, "_iceberg") }),
        ...icebergCatalogConf("rest", {
          type: "rest",
          uri: rest.url,
          token: rest.token,
          warehouse: restConfig.iceberg.restWarehouse,
        }),
      },
    }),
    rest.start(),
  ]);
}, 400_000);

afterAll(async () => {
  await spark?.[Symbol.asyncDispose]();
  await rest.stop();
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

/** 40 trades of 2024-03-10 10:00–12:59 UTC on one Kafka partition: five duplicates and one bad value. */
function tradeRecords(): BronzeRecord[] {
  return Array.from({ length: 40 }, (_, i) => {
    const id = 500 + (i % 35);
    const ts = `2024-03-10T${String(10 + (id % 3)).padStart(2, "0")}:${String(id % 60).padStart(2, "0")}:00.000001Z`;
    return {
      partition: 0,
      offset: i,
      key: "BTC/USD",
      value:
        i === 7 ? "not json" : tradeJson({ trade_id: id, ts, price: `${100 + (id % 7)}.5`, qty: "0.25" }),
      ingestedAt: parseRfc3339Micros(ts) + 1_000_000n,
    };
  });
}

describe("Spark reads every table of a lake the jobs committed through the filesystem path", () => {
  test("bronze, silver and gold (market, book, keyed and keyless CDC): each table's rows, exact decimal sums, µs timestamps and lists equal DuckDB's over the Hive tree", async () => {
    mkdirSync(fsRoot, { recursive: true });
    const fsStore = createLakeStore({ lake: { ...config.lake, uri: fsRoot }, s3: config.s3 });
    await everyTableAgrees(sparkEngine("fs"), fsRoot, new EmbeddedCatalog(fsStore), fsStore);
  }, 300_000);
});

describe("Spark reads the silver and gold tables the jobs publish", () => {
  test("two runs of silver trades and gold: Spark agrees with DuckDB over the Hive tree, VERSION AS OF gives run 1", async () => {
    const env: LakeJobEnv = {
      store,
      commitLog: new CommitLog(store),
      catalog: new EmbeddedCatalog(store),
      log: createLogger("test", "error"),
      scratchDir: join(root, "_tributary", "test-scratch"),
      now: () => parseRfc3339Micros("2024-03-11T00:00:00Z"),
    };
    const records = tradeRecords();
    const hive = (layer: string, ds: string) =>
      `read_parquet('${root}/${layer}/${ds}/**/*.parquet', hive_partitioning = false)`;
    const trades = `count(*), sum(price)::VARCHAR, sum(trade_id), strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%fZ')`;
    const candles = "count(*), sum(base_volume)::VARCHAR, sum(trade_count)";

    await commitBronze(env.commitLog, records.slice(0, 25));
    await runSilverTrades(env);
    await runGoldMarket(env, { graceMinutes: 5 });
    const [silver1] = await duckdb(`SELECT ${trades} FROM ${hive("silver", "kraken_trades")}`);
    const [gold1] = await duckdb(`SELECT ${candles} FROM ${hive("gold", "candles_1m")}`);
    const first = await spark.sql(
      "SELECT snapshot_id FROM lake.silver.kraken_trades.snapshots ORDER BY committed_at LIMIT 1",
    );
    const firstGold = await spark.sql(
      "SELECT snapshot_id FROM lake.gold.candles_1m.snapshots ORDER BY committed_at LIMIT 1",
    );

    await commitBronze(env.commitLog, records.slice(25));
    await runSilverTrades(env);
    await runGoldMarket(env, { graceMinutes: 5 });
    const [silver2] = await duckdb(`SELECT ${trades} FROM ${hive("silver", "kraken_trades")}`);
    const [gold2] = await duckdb(`SELECT ${candles} FROM ${hive("gold", "candles_1m")}`);
    expect(silver2).not.toEqual(silver1 as string[]);
    expect(gold2).not.toEqual(gold1 as string[]);

    const sparkTrades =
      "count(*), sum(price), sum(trade_id), date_format(max(ts), \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'\")";
    expect((await spark.sql(`SELECT ${sparkTrades} FROM lake.silver.kraken_trades`)).rows[0]).toEqual(
      silver2 as string[],
    );
    expect(
      (
        await spark.sql(
          `SELECT ${sparkTrades} FROM lake.silver.kraken_trades VERSION AS OF ${first.rows[0]?.[0]}`,
        )
      ).rows[0],
    ).toEqual(silver1 as string[]);
    const sparkCandles = "count(*), sum(base_volume), sum(trade_count)";
    expect((await spark.sql(`SELECT ${sparkCandles} FROM lake.gold.candles_1m`)).rows[0]).toEqual(
      gold2 as string[],
    );
    expect(
      (
        await spark.sql(
          `SELECT ${sparkCandles} FROM lake.gold.candles_1m VERSION AS OF ${firstGold.rows[0]?.[0]}`,
        )
      ).rows[0],
    ).toEqual(gold1 as string[]);
    const history = await spark.sql(
      "SELECT operation, summary['tributary.run'] FROM lake.silver.kraken_trades.snapshots ORDER BY committed_at",
    );
    expect(history.rows.map((r) => r[0])).toEqual(["append", "overwrite"]);
    for (const r of history.rows) expect(r[1]).toMatch(/^silver\.trades\//);

    // A third silver run whose change-journal entry gold does not see (silver appends it after its
    // snapshot commit): gold's new snapshot names silver's newest, and Spark finds in gold every trade
    // of exactly that silver snapshot.
    await commitBronze(
      env.commitLog,
      Array.from({ length: 10 }, (_, i) => {
        const ts = `2024-03-10T13:${String(i).padStart(2, "0")}:00.000001Z`;
        return {
          partition: 0,
          offset: 40 + i,
          key: "BTC/USD",
          value: tradeJson({ trade_id: 600 + i, ts, price: "101.5", qty: "0.25" }),
          ingestedAt: parseRfc3339Micros(ts) + 1_000_000n,
        };
      }),
    );
    await runSilverTrades(env);
    const entries: string[] = [];
    for await (const o of store.list(`_tributary/changes/${SILVER_TRADES_JOB}/`)) entries.push(o.key);
    await store.delete(entries.sort().at(-1) as string);
    await runGoldMarket(env, { graceMinutes: 5 });
    const newest = async (table: string, column: string) =>
      (await spark.sql(`SELECT ${column} FROM ${table}.snapshots ORDER BY committed_at DESC LIMIT 1`))
        .rows[0]?.[0];
    const named = await newest("lake.gold.candles_1m", "summary['tributary.read.silver.kraken_trades']");
    expect(named).toBe(await newest("lake.silver.kraken_trades", "snapshot_id"));
    const [goldTrades] = (await spark.sql("SELECT sum(trade_count) FROM lake.gold.candles_1m")).rows;
    const [silverTrades] = (
      await spark.sql(`SELECT count(*) FROM lake.silver.kraken_trades VERSION AS OF ${named}`)
    ).rows;
    expect(goldTrades).toEqual(silverTrades as (string | null)[]);
  }, 300_000);
});

/** Spark's catalog `catalog` as an engine of the every-table comparison. */
function sparkEngine(catalog: string): TableEngine {
  const first = async (sql: string) => ((await spark.sql(sql)).rows[0] ?? []).map(String);
  return {
    name: `Spark (${catalog} catalog)`,
    tables: async (layer) =>
      (await spark.sql(`SHOW TABLES IN ${catalog}.${layer}`)).rows.map((r) => String(r[1])),
    aggregate: (table, decimals, times) =>
      first(
        `SELECT ${["count(*)", ...decimals.map((c) => `sum(\`${c}\`)`), ...times.map((c) => `date_format(max(\`${c}\`), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")`)].join(", ")} FROM ${catalog}.${table}`,
      ),
    elements: (table, column, fields) =>
      first(
        `SELECT ${["count(*)", ...fields.map((f) => `sum(e.\`${f}\`)`)].join(", ")} FROM (SELECT explode(\`${column}\`) AS e FROM ${catalog}.${table})`,
      ),
  };
}

describe("Spark reads every table of a lake the jobs committed through the REST catalog", () => {
  test("bronze, silver and gold: each table's rows, exact decimal sums and µs timestamps equal DuckDB's over the Hive tree; VERSION and TIMESTAMP AS OF give run 1", async () => {
    const restStore = createLakeStore(restConfig);
    const catalog = openCatalog(restConfig, restStore);
    expect(catalog.kind).toBe("rest");
    const { withTables } = await everyTableAgrees(sparkEngine("rest"), restRoot, catalog, restStore);
    // A table without a primary key folds as a multiset; its silver datasets are tables too.
    const keyless = tesouroTable("public", "tesouro_prices_log");
    for (const ds of [cdcDatasetName(keyless), cdcHistoryDatasetName(keyless)])
      expect(withTables).toContain(`silver.${ds}`);
    // Gold names the silver snapshot it read, and Spark sees that snapshot in silver's history.
    const [readSilver] = (
      await spark.sql(
        "SELECT summary['tributary.read.silver.cdc_public_tesouro_prices'] FROM rest.gold.tesouro_yield_curve.snapshots ORDER BY committed_at DESC LIMIT 1",
      )
    ).rows[0] as string[];
    const silverIds = (
      await spark.sql("SELECT snapshot_id FROM rest.silver.cdc_public_tesouro_prices.snapshots")
    ).rows.map((r) => String(r[0]));
    expect(silverIds).toContain(readSilver as string);

    // A second silver run through REST: run 1 is still there, by id and by time.
    const count = async () =>
      (
        await duckdb(`SELECT count(*) FROM read_parquet('${restRoot}/silver/kraken_trades/**/*.parquet')`)
      )[0]?.[0];
    const before = await count();
    const first = (
      await spark.sql(
        'SELECT snapshot_id, date_format(committed_at, "yyyy-MM-dd HH:mm:ss.SSS") FROM rest.silver.kraken_trades.snapshots ORDER BY committed_at DESC LIMIT 1',
      )
    ).rows[0] as string[];
    await Bun.sleep(50);
    await secondSilverRun(restRoot, catalog);
    expect(await count()).toBe(String(Number(before) + 20));
    expect((await spark.sql("SELECT count(*) FROM rest.silver.kraken_trades")).rows[0]?.[0]).toBe(
      await count(),
    );
    expect(
      (await spark.sql(`SELECT count(*) FROM rest.silver.kraken_trades VERSION AS OF ${first[0]}`))
        .rows[0]?.[0],
    ).toBe(before);
    expect(
      (await spark.sql(`SELECT count(*) FROM rest.silver.kraken_trades TIMESTAMP AS OF '${first[1]}'`))
        .rows[0]?.[0],
    ).toBe(before);
  }, 300_000);

  test("bronze landed from Kafka by the real writer (killed -9 midway) through the REST catalog: Spark reads each produced record once, payloads intact", async () => {
    const topic = uniqueName("spark_rest_trades");
    const dataset = "kraken_trades_from_kafka";
    const partitions = 3;
    const records = 6_000;
    const garbageEvery = 997;
    await createTestTopic(restConfig, topic, partitions);
    const producer = await testProducer(restConfig);
    const env = {
      ...rest.env,
      LAKE_CONSUMER_GROUP: uniqueName("spark_rest_group"),
      LAKE_FLUSH_MS: "200",
      LAKE_FLUSH_ROWS: "500",
      LAKE_ICEBERG_COMMIT_MS: "300",
    };
    const args = tradesWriterArgs(topic, dataset);
    const table = () =>
      openCatalog(restConfig, createLakeStore(restConfig)).load({ namespace: "bronze", name: dataset });
    const committed = async () => {
      const loaded = await table();
      const snap = loaded === undefined ? undefined : currentSnapshot(loaded.metadata);
      return Number(snap?.summary["total-records"] ?? 0);
    };
    let child = spawnWriter(env, args);
    let kills = 0;
    try {
      await produceTrades(producer, topic, records / 2, partitions, { garbageEvery });
      await Promise.race([child.consuming, child.exited, Bun.sleep(30_000)]);
      // Killed once something is committed, so the restart resumes from the table's own record.
      const firstBy = Date.now() + 30_000;
      while (Date.now() < firstBy && (await committed()) === 0) await Bun.sleep(100);
      child.kill9();
      await child.exited;
      if (child.proc.signalCode === "SIGKILL") kills += 1;
      await produceTrades(producer, topic, records / 2, partitions, {
        garbageEvery,
        startIndex: records / 2,
      });
      child = spawnWriter(env, args);
      const until = Date.now() + 90_000;
      while (Date.now() < until && (await committed()) < records) await Bun.sleep(250);
      child.terminate();
      await child.exited;
    } finally {
      child.kill9();
      await producer.disconnect();
    }
    expect([kills, await committed()]).toEqual([1, records]);
    const loaded = await table();
    const perPartition = records / partitions;
    expect(snapshotOffsets(loaded === undefined ? undefined : currentSnapshot(loaded.metadata))).toEqual(
      Object.fromEntries(
        Array.from({ length: partitions }, (_, p) => [`${topic}/${p}`, String(perPartition)]),
      ),
    );

    // What was produced, computed here from the messages; what Spark reads, parsed by Spark. An
    // unparseable value has no event time of its own: bronze keeps it with Kafka's timestamp, flagged.
    let tradeIds = 0;
    let garbage = 0;
    let maxTs = "";
    for (let i = 0; i < records; i++) {
      if (i % garbageEvery === garbageEvery - 1) {
        garbage += 1;
        continue;
      }
      const value = JSON.parse(tradeMessage(i).value) as { trade_id: number; ts: string };
      tradeIds += value.trade_id;
      if (value.ts > maxTs) maxTs = value.ts;
    }
    const got = await spark.sql(
      `SELECT count(*), count(DISTINCT kafka_partition, kafka_offset), min(kafka_offset), max(kafka_offset),
              sum(CAST(get_json_object(CAST(kafka_value AS STRING), '$.trade_id') AS BIGINT)),
              count_if(get_json_object(CAST(kafka_value AS STRING), '$.trade_id') IS NULL),
              count_if(event_ts_from_kafka),
              date_format(max(event_ts) FILTER (WHERE NOT event_ts_from_kafka), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
         FROM rest.bronze.${dataset}`,
    );
    expect(got.rows[0]).toEqual([
      String(records),
      String(records),
      "0",
      String(perPartition - 1),
      String(tradeIds),
      String(garbage),
      String(garbage),
      maxTs,
    ]);
    console.log(
      `REST catalog, bronze from Kafka: ${records} records (${garbage} unparseable) over ${partitions} partitions, ${kills} kill -9, ${loaded?.metadata.snapshots?.length} snapshots; Spark reads each once`,
    );
  }, 300_000);
});
