/**
 * Crash test of the exactly-once protocol: the writer (a real child process) is killed with
 * SIGKILL at named protocol steps (TRIBUTARY_FAULT_POINT) and at random moments (kill -9 from
 * here); after every kill a DuckDB reader that knows nothing of the commit log must see no
 * duplicate and nothing beyond what the log committed; after recovery every (topic, partition,
 * offset) is in bronze exactly once. CI size: 30,000 records and 5 kills per backend; full size
 * (1,000,000 records, 24 kills) with TRIBUTARY_SOAK=1. The two backends run side by side (each
 * restart waits out the killed member's Kafka session, so one backend alone mostly waits); the
 * writer's own fault draws are seeded from the test's printed seed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { uniqueName } from "@tributary/shared/testing/names";
import { testRandom } from "@tributary/shared/testing/random";
import { spawnWriter, tradesWriterArgs } from "./child.ts";
import type { FaultPoint } from "./faults.ts";
import {
  createTestTopic,
  expectedReport,
  produceTrades,
  readLakeExactlyOnce,
  readTableExactlyOnce,
  testProducer,
  waitFor,
} from "./testing.ts";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const PARTITIONS = 6;
const MESSAGES = SOAK ? 1_000_000 : 30_000;
const FLUSH_ROWS = SOAK ? 10_000 : 1_000;

type Round = { readonly point: FaultPoint; readonly probability: number } | { readonly external: true };
const CI_ROUNDS: Round[] = [
  { point: "mid-copy", probability: 0.5 },
  { point: "after-commit-record", probability: 0.5 },
  { point: "mid-publish", probability: 0.5 },
  { point: "after-publish", probability: 0.5 },
  { point: "before-table-commit", probability: 1 },
  { external: true },
];
const SOAK_CYCLE: Round[] = [
  { point: "mid-copy", probability: 0.4 },
  { point: "after-stage", probability: 0.4 },
  { point: "after-commit-record", probability: 0.4 },
  { point: "mid-publish", probability: 0.4 },
  { point: "after-publish", probability: 0.4 },
  { point: "after-offset-commit", probability: 0.4 },
  { point: "before-table-commit", probability: 0.5 },
  { point: "after-table-commit", probability: 0.5 },
  { external: true },
  { external: true },
];
const ROUNDS: Round[] = SOAK
  ? Array.from({ length: 24 }, (_, i) => SOAK_CYCLE[i % SOAK_CYCLE.length] as Round)
  : CI_ROUNDS;

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-crash-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const backends: Array<[string, () => string]> = [
  ["local disk", () => join(scratch, uniqueName("lake"))],
  ["S3", () => `s3://${base.s3.bucket}/${uniqueName("lake")}`],
];

for (const [where, lakeUri] of backends) {
  describe(`crash test on ${where}`, () => {
    test.concurrent(
      `${MESSAGES} records over ${PARTITIONS} partitions survive ${ROUNDS.length} SIGKILLs (mid-COPY, after the commit record, mid-publish, before the offset commit, random) exactly once`,
      async () => {
        const { random } = testRandom(`crash test on ${where}: random kill moments`);
        const uri = lakeUri();
        const topic = uniqueName("crash");
        const group = uniqueName("crash_group");
        const config = { ...base, lake: { ...base.lake, uri } };
        const store = createLakeStore(config);
        const log = new CommitLog(store);
        const ds = { layer: "bronze" as const, name: "kraken_trades" };
        await createTestTopic(config, topic, PARTITIONS);
        const producer = await testProducer(config);
        // Each round (and the final run) gets a fresh chunk, so every writer has data to flush.
        const chunk = Math.floor(MESSAGES / (ROUNDS.length + 1));
        const sent = Array.from({ length: PARTITIONS }, () => 0);
        let produced = 0;
        let produceSeconds = 0;
        const produce = async (count: number): Promise<void> => {
          const t0 = performance.now();
          const perPartition = await produceTrades(producer, topic, count, PARTITIONS, {
            garbageEvery: 997,
            startIndex: produced,
          });
          for (const [p, n] of perPartition.entries()) sent[p] = (sent[p] ?? 0) + n;
          produced += count;
          produceSeconds += (performance.now() - t0) / 1000;
        };

        const env = {
          LAKE_URI: uri,
          LAKE_CONSUMER_GROUP: group,
          LAKE_FLUSH_MS: "200",
          LAKE_FLUSH_ROWS: String(FLUSH_ROWS),
          LAKE_ICEBERG_COMMIT_MS: "300",
        };
        const args = tradesWriterArgs(topic);
        const kills: Record<string, number> = {};
        let killCount = 0;
        /** One writer life ending in SIGKILL (injected at `point`, or from here), then the reader's check. */
        const crash = async (point: FaultPoint | undefined, probability: number): Promise<boolean> => {
          const faultEnv: Record<string, string> =
            point === undefined
              ? {}
              : {
                  TRIBUTARY_FAULT_POINT: point,
                  TRIBUTARY_FAULT_PROB: String(probability),
                  TRIBUTARY_FAULT_SEED: String(Math.floor(random() * 0x1_0000_0000)),
                };
          const child = spawnWriter({ ...env, ...faultEnv }, args);
          await Promise.race([child.consuming, child.exited, Bun.sleep(30_000)]);
          if (point === undefined) await Bun.sleep(200 + Math.floor(random() * 2_500));
          // An injected fault normally fires within a few flushes; if the data runs out first, kill from here.
          const timer = setTimeout(() => child.kill9(), point === undefined ? 0 : 10_000);
          await child.exited;
          clearTimeout(timer);
          expect({
            signal: child.proc.signalCode,
            tail: child.proc.signalCode === "SIGKILL" ? "" : child.tail(),
          }).toEqual({
            signal: "SIGKILL",
            tail: "",
          });
          const how = child.faultPoint() ?? "external kill -9";
          kills[how] = (kills[how] ?? 0) + 1;
          killCount += 1;

          // Right after the crash, before any recovery: no duplicate, nothing beyond the committed tip.
          const seen = await readLakeExactlyOnce(store, "kraken_trades");
          expect({ kill: killCount, duplicates: seen.duplicates }).toEqual({
            kill: killCount,
            duplicates: 0,
          });
          for (const [p, count, distinct, , hi] of seen.partitions) {
            const resume = Number(await log.resumeOffset(ds, topic, p));
            expect({ kill: killCount, p, beyondCommitted: hi >= resume, count }).toEqual({
              kill: killCount,
              p,
              beyondCommitted: false,
              count: distinct,
            });
          }
          // The Iceberg table: never a duplicate, never an offset beyond the log, never a file not in place.
          const table = await readTableExactlyOnce(store, "kraken_trades");
          expect({ kill: killCount, duplicates: table.duplicates, missingFiles: table.missingFiles }).toEqual(
            {
              kill: killCount,
              duplicates: 0,
              missingFiles: 0,
            },
          );
          for (const [p, count, distinct, , hi] of table.partitions) {
            const resume = Number(await log.resumeOffset(ds, topic, p));
            expect({ kill: killCount, p, table: true, beyondCommitted: hi >= resume, count }).toEqual({
              kill: killCount,
              p,
              table: true,
              beyondCommitted: false,
              count: distinct,
            });
          }
          return child.faultPoint() !== undefined;
        };
        const started = performance.now();
        for (const round of ROUNDS) {
          await produce(chunk);
          if (!("point" in round)) {
            await crash(undefined, 0);
            continue;
          }
          // Every named point must fire: if chance skipped it, the next life dies there for sure.
          if (!(await crash(round.point, round.probability))) {
            await produce(Math.floor(chunk / 5));
            await crash(round.point, 1);
          }
        }
        const killedSeconds = (performance.now() - started) / 1000;

        // Recovery: a clean writer finishes the job and stops gracefully.
        await produce(MESSAGES - produced);
        await producer.disconnect();
        const want = expectedReport(sent);
        const finalChild = spawnWriter(env, args);
        await Promise.race([finalChild.consuming, Bun.sleep(60_000)]);
        const finished = await waitFor(
          async () => (await readLakeExactlyOnce(store, "kraken_trades")).total >= want.total,
          SOAK ? 1_800_000 : 180_000,
          1_000,
        );
        finalChild.terminate();
        const code = await finalChild.exited;
        expect({ finished, code, tail: finished && code === 0 ? "" : finalChild.tail() }).toEqual({
          finished: true,
          code: 0,
          tail: "",
        });
        const report = await readLakeExactlyOnce(store, "kraken_trades");
        expect(report).toEqual(want);
        // The writer commits its tables when it stops: the table holds every offset exactly once.
        expect(await readTableExactlyOnce(store, "kraken_trades")).toEqual({ ...want, missingFiles: 0 });
        for (let p = 0; p < PARTITIONS; p++)
          expect(await log.resumeOffset(ds, topic, p)).toBe(BigInt(sent[p] ?? 0));

        const admin = createKafka(config.kafka, "lake-test").admin();
        await admin.connect();
        const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        await admin.disconnect();
        expect(
          committed[0]?.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
        ).toEqual(sent);

        let files = 0;
        for await (const o of store.list("bronze/kraken_trades/")) if (o.key.endsWith(".parquet")) files += 1;
        console.log(
          JSON.stringify({
            crash_test: where,
            records: MESSAGES,
            partitions: PARTITIONS,
            kills,
            kill_count: killCount,
            produce_s: Math.round(produceSeconds),
            rounds_s: Math.round(killedSeconds),
            total_s: Math.round((performance.now() - started) / 1000),
            rows_in_bronze: report.total,
            duplicates: report.duplicates,
            parquet_files: files,
          }),
        );
        expect(killCount).toBeGreaterThanOrEqual(ROUNDS.length);
        for (const round of ROUNDS) if ("point" in round) expect(kills[round.point] ?? 0).toBeGreaterThan(0);
      },
      SOAK ? 3_600_000 : 900_000,
    );
  });
}
