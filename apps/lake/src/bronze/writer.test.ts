import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { uniqueName } from "@tributary/shared/testing/names";
import { routedDataset } from "./datasets.ts";
import {
  createTestTopic,
  expectedReport,
  produceTrades,
  readExactlyOnce,
  readLakeExactlyOnce,
  TEST_EPOCH_US,
  testProducer,
  waitFor,
  withLocalBronze,
} from "./testing.ts";
import { startBronzeWriter } from "./writer.ts";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-writer-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function configFor(uri: string): Config {
  return { ...base, lake: { ...base.lake, uri, flushMs: 200, consumerGroup: uniqueName("group") } };
}

const lakes: Array<[string, () => string]> = [
  ["local disk", () => join(scratch, uniqueName("lake"))],
  ["S3", () => `s3://${base.s3.bucket}/${uniqueName("lake")}`],
];

for (const [where, lakeUri] of lakes) {
  describe(`bronze writer on ${where}`, () => {
    test("every record lands exactly once in Hive-partitioned Parquet that DuckDB reads alone, with standard types", async () => {
      const config = configFor(lakeUri());
      const topic = uniqueName("trades");
      const partitions = 3;
      await createTestTopic(config, topic, partitions);
      const producer = await testProducer(config);
      const sent = await produceTrades(producer, topic, 3_000, partitions, { garbageEvery: 500 });
      const writer = await startBronzeWriter(config, {
        topics: [topic],
        routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
        metricsPort: 0,
      });
      const store = createLakeStore(config);
      try {
        const want = expectedReport(sent);
        const done = await waitFor(
          async () => (await readLakeExactlyOnce(store, "kraken_trades")).total >= want.total,
          60_000,
          500,
        );
        expect(done).toBe(true);
        // More data after the first commits: still exactly once.
        const more = await produceTrades(producer, topic, 600, partitions, { startIndex: 3_000 });
        const all = expectedReport(sent.map((n, p) => n + (more[p] ?? 0)));
        await waitFor(
          async () => (await readLakeExactlyOnce(store, "kraken_trades")).total >= all.total,
          60_000,
          500,
        );
        await withLocalBronze(store, async (root) => {
          expect(await readExactlyOnce(root, "kraken_trades")).toEqual(all);

          const instance = await DuckDBInstance.create(":memory:");
          const conn = await instance.connect();
          try {
            const src = `read_parquet('${root}/bronze/kraken_trades/**/*.parquet', hive_partitioning = true)`;
            const types = await conn.runAndReadAll(
              `SELECT column_name, column_type FROM (DESCRIBE SELECT * EXCLUDE (year, month, day, hour, pair) FROM ${src})`,
            );
            expect(types.getRowObjectsJS().map((r) => [r.column_name, r.column_type])).toEqual([
              ["topic", "VARCHAR"],
              ["kafka_partition", "INTEGER"],
              ["kafka_offset", "BIGINT"],
              ["kafka_key", "BLOB"],
              ["kafka_value", "BLOB"],
              ["kafka_timestamp", "TIMESTAMP WITH TIME ZONE"],
              ["ingested_at", "TIMESTAMP WITH TIME ZONE"],
              ["event_ts", "TIMESTAMP WITH TIME ZONE"],
              ["event_ts_from_kafka", "BOOLEAN"],
            ]);
            // In the files: standard Parquet types, timestamps as UTC-adjusted INT64 microseconds.
            const physical = await conn.runAndReadAll(
              `SELECT DISTINCT name, type, converted_type, coalesce(logical_type LIKE '%isAdjustedToUTC=1%MICROS=MicroSeconds()%', false) AS utc_us
               FROM parquet_schema('${root}/bronze/kraken_trades/**/*.parquet') WHERE name IN ('kafka_offset', 'kafka_value', 'event_ts') ORDER BY name`,
            );
            expect(
              physical.getRowObjectsJS().map((r) => [r.name, r.type, r.converted_type, r.utc_us]),
            ).toEqual([
              ["event_ts", "INT64", "TIMESTAMP_MICROS", true],
              ["kafka_offset", "INT64", "INT_64", false],
              ["kafka_value", "BYTE_ARRAY", null, false],
            ]);
            // Record i has event time TEST_EPOCH + i s, in the partition of its UTC hour and pair;
            // the value bytes are verbatim; garbage falls back to the Kafka timestamp, flagged.
            const rows = await conn.runAndReadAll(
              `SELECT epoch_us(event_ts)::BIGINT AS ev, event_ts_from_kafka AS flag, year::VARCHAR AS y, month::VARCHAR AS m, hour::VARCHAR AS h, pair,
                      try(decode(kafka_value)) AS v, epoch_us(kafka_timestamp)::BIGINT AS kts
               FROM ${src} WHERE kafka_partition = 1 AND kafka_offset IN (0, 166) ORDER BY kafka_offset`,
            );
            const [first, garbage] = rows.getRowObjectsJS();
            // Partition 1, offset 0 is record 1: 2024-05-01T13:30:01Z, ETH/USD.
            expect(first?.ev).toBe(BigInt(TEST_EPOCH_US + 1_000_000));
            expect([first?.flag, first?.y, first?.m, first?.h, first?.pair]).toEqual([
              false,
              "2024",
              "5",
              "13",
              "ETH_USD",
            ]);
            expect(String(first?.v)).toContain('"trade_id":1000001');
            // Partition 1, offset 166 is record 499 (500th record): garbage.
            expect(garbage?.flag).toBe(true);
            expect(garbage?.ev).toBe(garbage?.kts);
            const hours = await conn.runAndReadAll(
              `SELECT DISTINCT hour::INTEGER AS h FROM ${src} WHERE NOT event_ts_from_kafka ORDER BY 1`,
            );
            expect(hours.getRowObjectsJS().map((r) => r.h)).toEqual([13, 14]);
          } finally {
            conn.closeSync();
            instance.closeSync();
          }
        });

        // The lake's own log resumes each partition right after its last record.
        const log = new CommitLog(store);
        for (let p = 0; p < partitions; p++) {
          expect(await log.resumeOffset({ layer: "bronze", name: "kraken_trades" }, topic, p)).toBe(
            BigInt(all.partitions[p]?.[1] ?? 0),
          );
        }
        // Nothing staged is left behind.
        const staged: string[] = [];
        for await (const o of store.list("_tributary/staging/")) staged.push(o.key);
        expect(staged).toEqual([]);

        const health = await fetch(`${writer.metricsUrl}/health`);
        expect(health.status).toBe(200);
        const metrics = await (await fetch(`${writer.metricsUrl}/metrics`)).text();
        expect(metrics).toContain(
          `tributary_lake_partition_lag{topic="${topic}",partition="0",dataset="kraken_trades"} 0`,
        );
        expect(metrics).toMatch(/tributary_lake_partition_files_total\{[^}]*partition="2"[^}]*\} [1-9]/);
      } finally {
        await writer.stop();
        await producer.disconnect();
      }
      // Graceful stop committed the offsets to Kafka too.
      const admin = createKafka(config.kafka, "lake-test").admin();
      await admin.connect();
      const committed = await admin.fetchOffsets({ groupId: config.lake.consumerGroup, topics: [topic] });
      await admin.disconnect();
      const offsets = committed[0]?.partitions
        .sort((a, b) => a.partition - b.partition)
        .map((p) => Number(p.offset));
      expect(offsets).toEqual([1200, 1200, 1200]);
    }, 120_000);
  });
}
