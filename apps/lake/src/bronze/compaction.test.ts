import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { CommitLog, type DatasetRef } from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import {
  type CompactionOptions,
  closedPeriodPrefixes,
  compactDataset,
  DEFAULT_COMPACTION,
} from "./compaction.ts";
import { routedDataset } from "./datasets.ts";
import { exchangeDirs } from "./dir-swap.ts";
import { FaultInjector, type FaultPoint } from "./faults.ts";
import { BronzeTableCommitter } from "./table-commit.ts";
import {
  createTestTopic,
  type ExactlyOnceReport,
  produceTrades,
  readLakeExactlyOnce,
  testProducer,
  waitFor,
} from "./testing.ts";
import { startBronzeWriter } from "./writer.ts";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-compaction-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ds: DatasetRef = { layer: "bronze", name: "kraken_trades" };
const quiet = createLogger("test", "warn");

class SimulatedCrash extends Error {}

/** A lake whose closed hours hold many small files: 3,000 trades one second apart, arriving 200 at a time. */
async function smallFileLake(
  uri: string,
): Promise<{ config: Config; store: LakeStore; report: ExactlyOnceReport }> {
  const config: Config = {
    ...base,
    lake: { ...base.lake, uri, flushMs: 100, flushRows: 250, consumerGroup: uniqueName("group") },
  };
  const topic = uniqueName("compact");
  await createTestTopic(config, topic, 2);
  const store = createLakeStore(config);
  const writer = await startBronzeWriter(config, {
    topics: [topic],
    routes: new Map([[topic, routedDataset(topic, ds.name, "kraken")]]),
    metricsPort: null,
    logger: quiet,
  });
  // Small batches, each flushed on its own: the small files compaction exists for.
  const producer = await testProducer(config);
  for (let i = 0; i < 3_000; i += 200) {
    await produceTrades(producer, topic, 200, 2, { startIndex: i });
    await Bun.sleep(250);
  }
  await producer.disconnect();
  await waitFor(async () => (await readLakeExactlyOnce(store, ds.name)).total >= 3_000, 60_000, 300);
  await writer.stop();
  return { config, store, report: await readLakeExactlyOnce(store, ds.name) };
}

async function parquetFiles(store: LakeStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(`bronze/${ds.name}/`)) if (o.key.endsWith(".parquet")) out.push(o.key);
  return out;
}

function bronzeTable(store: LakeStore): BronzeTableCommitter {
  return new BronzeTableCommitter(store, new CommitLog(store), new EmbeddedCatalog(store), ds, "kraken");
}

/** Files a snapshot of the table names that are not in the lake, for every snapshot the metadata keeps. */
async function missingTableFiles(store: LakeStore): Promise<string[]> {
  const { table } = bronzeTable(store);
  const loaded = await table.load();
  const missing: string[] = [];
  for (const s of loaded?.metadata.snapshots ?? []) {
    for (const f of await table.files(s)) {
      if (!(await store.exists(lakeKeyOf(store, f.path)))) missing.push(`${s["snapshot-id"]}: ${f.path}`);
    }
  }
  return missing;
}

function options(faults?: FaultInjector): CompactionOptions {
  return {
    ...DEFAULT_COMPACTION,
    graceMs: 0,
    sinceMs: Date.UTC(2024, 4, 1, 12),
    now: () => Date.UTC(2024, 4, 1, 16),
    tmpDir: join(scratch, uniqueName("tmp")),
    ...(faults === undefined ? {} : { faults }),
  };
}

test("closed periods are whole hours (days for CDC) that ended before now minus the grace", () => {
  const now = Date.UTC(2024, 4, 1, 14, 5);
  expect(closedPeriodPrefixes(ds, now, 10 * 60_000, Date.UTC(2024, 4, 1, 11, 30))).toEqual([
    "bronze/kraken_trades/year=2024/month=5/day=1/hour=11/",
    "bronze/kraken_trades/year=2024/month=5/day=1/hour=12/",
  ]);
  expect(
    closedPeriodPrefixes({ layer: "bronze", name: "cdc_public_t" }, now, 0, Date.UTC(2024, 3, 29)),
  ).toEqual([
    "bronze/cdc_public_t/year=2024/month=4/day=29/",
    "bronze/cdc_public_t/year=2024/month=4/day=30/",
  ]);
});

const lakes: Array<[string, () => string]> = [
  ["local disk", () => join(scratch, uniqueName("lake"))],
  ["S3", () => `s3://${base.s3.bucket}/${uniqueName("lake")}`],
];

// Every test builds its own lake (own topic, group and directory) and mostly waits for Kafka and
// flushes, so the tests run side by side.
for (const [where, lakeUri] of lakes) {
  describe(`compaction on ${where}`, () => {
    test.concurrent("merges each closed leaf partition into one file with exactly the same rows, recorded in the commit log", async () => {
      const { store, report } = await smallFileLake(lakeUri());
      const before = await parquetFiles(store);
      const leaves = new Set(before.map((k) => k.slice(0, k.lastIndexOf("/"))));
      expect(before.length).toBeGreaterThan(leaves.size * 2);

      const summary = await compactDataset(store, new CommitLog(store), ds, options(), quiet);
      expect(summary.partitions).toBe(leaves.size);
      expect(summary.rows).toBe(3_000);
      const after = await parquetFiles(store);
      expect(after.length).toBe(leaves.size);
      expect(after.every((k) => /\/compacted-[^/]+-0\.parquet$/.test(k))).toBe(true);
      expect(await readLakeExactlyOnce(store, ds.name)).toEqual(report);
      // Readers of the commit log see the same file set as a glob reader.
      expect((await new CommitLog(store).liveFiles(ds)).map((f) => f.path).sort()).toEqual(after.sort());
      // A second round finds nothing left to do.
      expect((await compactDataset(store, new CommitLog(store), ds, options(), quiet)).partitions).toBe(0);
    }, 120_000);

    test.concurrent("the table never names a file that is not in place: right after publishing, the current snapshot is the compaction's and every kept snapshot reads", async () => {
      const { store } = await smallFileLake(lakeUri());
      const committer = bronzeTable(store);
      await committer.commit();
      expect(await missingTableFiles(store)).toEqual([]);
      await compactDataset(store, new CommitLog(store), ds, options(), quiet);
      // No table commit in between: a reader planning the table now must find every file.
      expect(await missingTableFiles(store)).toEqual([]);
      const current = await committer.table.files();
      expect(current.reduce((n, f) => n + f.recordCount, 0)).toBe(3_000);
      expect(current.every((f) => /\/compacted-[^/]+-0\.parquet$/.test(f.path))).toBe(true);
    }, 120_000);

    for (const point of ["after-commit-record", "after-table-commit", "mid-publish"] as FaultPoint[]) {
      test.concurrent(`a compaction that dies ${point} is rolled forward by the next run`, async () => {
        const { store, report } = await smallFileLake(lakeUri());
        const faults = new FaultInjector({ point, probability: 1 }, () => {
          throw new SimulatedCrash(point);
        });
        await expect(
          compactDataset(store, new CommitLog(store), ds, options(faults), quiet),
        ).rejects.toBeInstanceOf(SimulatedCrash);
        const seen = await readLakeExactlyOnce(store, ds.name);
        // Whatever the moment, no snapshot the table keeps names a missing file.
        expect(await missingTableFiles(store)).toEqual([]);
        // The record is the commit point: before publishing, readers still see exactly the old files.
        // On disk the leaf swap is atomic, so even mid-publish they see one whole set.
        if (point !== "mid-publish" || (store.kind === "local" && exchangeDirs !== undefined))
          expect(seen).toEqual(report);

        const again = await compactDataset(store, new CommitLog(store), ds, options(), quiet);
        expect(again.rolledForward).toBe(1);
        expect(await readLakeExactlyOnce(store, ds.name)).toEqual(report);
        expect(await missingTableFiles(store)).toEqual([]);
        const current = await bronzeTable(store).table.files();
        expect(current.reduce((n, f) => n + f.recordCount, 0)).toBe(3_000);
        const staged: string[] = [];
        for await (const o of store.list("_tributary/staging/")) staged.push(o.key);
        expect(staged).toEqual([]);
        const live = (await new CommitLog(store).liveFiles(ds)).map((f) => f.path).sort();
        expect(live).toEqual((await parquetFiles(store)).sort());
      }, 120_000);
    }
  });
}
