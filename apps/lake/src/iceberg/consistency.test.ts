/**
 * Snapshot consistency under faults: while trades are produced to Kafka, a real bronze writer (child
 * process) is killed with SIGKILL and restarted, and silver trades + gold market runs repeat, a
 * reader loads each table's metadata continuously and checks every new snapshot it sees, reading
 * only that snapshot's planned files: bronze holds exactly the offsets [0, next) its
 * `tributary.offsets` summary claims (whole commits); every planned file is in place at the
 * manifest's size; silver holds the summary's row count with no duplicate trade (a whole run); gold
 * 1-minute candles equal a recomputation from the silver snapshot the gold run read (a whole run of
 * a whole run). CI size: ~20 s, 4 kills; TRIBUTARY_SOAK=1: 200,000 records, 16 kills.
 *
 * Each gold snapshot names the silver snapshot its run read (`tributary.read.silver.kraken_trades`,
 * snapshot-reader.ts); the test checks gold against exactly that one, and that it is the silver
 * snapshot current when the run started (the jobs run one after the other here).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { currentSnapshot, type Snapshot, type TableMetadata } from "@tributary/shared/lake/iceberg/metadata";
import type { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import type { JobContext } from "@tributary/shared/scheduler/job";
import { uniqueName } from "@tributary/shared/testing/names";
import { spawnWriter, tradesWriterArgs, type WriterChild } from "../bronze/child.ts";
import { createTestTopic, produceTrades, testProducer } from "../bronze/testing.ts";
import { GOLD } from "../gold/datasets.ts";
import { marketJobs } from "../jobs/market.ts";
import { openDuckSession } from "../runtime/duckdb.ts";
import { READ_KEY_PREFIX } from "../runtime/snapshot-reader.ts";
import { SILVER } from "../silver/datasets.ts";
import {
  bronzeSnapshotReport,
  candleDisagreement,
  type PlannedFiles,
  plannedFiles,
  readableTable,
  silverSnapshotReport,
  wholeCommitsOf,
} from "./snapshot-checks.ts";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const PARTITIONS = 3;
const MESSAGES = SOAK ? 200_000 : 12_000;
const KILLS = SOAK ? 16 : 4;
const LIFE_MS = SOAK ? [1_500, 6_000] : [1_000, 2_500];
/** Minimum new snapshots the reader must have checked per table, so the test cannot pass on nothing. */
const MIN_SNAPSHOTS = { bronze: SOAK ? 20 : 4, silver: SOAK ? 6 : 2, gold: SOAK ? 6 : 2 };

const scratch = mkdtempSync(join(tmpdir(), "iceberg-consistency-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ctx = (): JobContext => ({
  signal: new AbortController().signal,
  scheduledFor: new Date(),
  log: createLogger("test", "error"),
  progress: () => {},
});

test(
  `every snapshot a continuous reader sees holds whole bronze commits and whole silver/gold runs while ${KILLS} bronze writers are killed -9 and silver/gold rerun`,
  async () => {
    const uri = join(scratch, "lake");
    const config = loadConfig({ ...process.env, LAKE_URI: uri, EXPORT_DIR: join(scratch, "export") });
    const store = createLakeStore(config);
    const topic = uniqueName("consistency");
    await createTestTopic(config, topic, PARTITIONS);
    const producer = await testProducer(config);
    const tables = {
      bronze: readableTable(store, "bronze", "kraken_trades"),
      silver: readableTable(store, "silver", SILVER.trades),
      gold: readableTable(store, "gold", GOLD.candles["1m"]),
    };
    const checked = { bronze: 0, silver: 0, gold: 0 };
    const failures: unknown[] = [];
    const seen = new Set<string>();
    /** Gold snapshot id → the silver snapshot current when its run started (recorded by the job loop). */
    const goldReads = new Map<number, Snapshot | undefined>();
    const pendingGold: Snapshot[] = [];
    const silverFiles = new Map<string, PlannedFiles>();
    using duck = await openDuckSession();

    /** The files a snapshot plans, from metadata the caller loaded (or loaded now). */
    const plan = async (t: IcebergTable, snap: Snapshot, m?: TableMetadata): Promise<PlannedFiles> => {
      const metadata = m ?? (await t.load())?.metadata;
      if (metadata === undefined) throw new Error(`${t.id.name} vanished`);
      return plannedFiles(t, snap, metadata);
    };
    const NO_FILES: PlannedFiles = { paths: [], broken: [], manifestRows: 0 };
    /** The silver snapshot a gold snapshot names: as the reader planned it, else planned now. */
    const silverNamed = async (recorded: string | undefined): Promise<PlannedFiles> => {
      const seenFiles = recorded === undefined ? undefined : silverFiles.get(recorded);
      if (seenFiles !== undefined) return seenFiles;
      const m = (await tables.silver.load())?.metadata;
      const snap = m?.snapshots?.find((s) => String(s["snapshot-id"]) === recorded);
      return snap === undefined ? NO_FILES : plan(tables.silver, snap, m);
    };
    const checkGold = async (snap: Snapshot): Promise<boolean> => {
      if (!goldReads.has(snap["snapshot-id"])) return false;
      const expected = goldReads.get(snap["snapshot-id"]);
      const recorded = snap.summary[`${READ_KEY_PREFIX}silver.${SILVER.trades}`];
      if (recorded === undefined || String(expected?.["snapshot-id"] ?? "none") !== recorded)
        failures.push({ gold: snap["snapshot-id"], recorded, expected: expected?.["snapshot-id"] });
      const gold = await plan(tables.gold, snap);
      const agree = await candleDisagreement(duck, gold, await silverNamed(recorded));
      if (gold.broken.length > 0 || agree.differing > 0 || agree.goldCandles === 0)
        failures.push({ gold: snap["snapshot-id"], broken: gold.broken, ...agree });
      checked.gold += 1;
      return true;
    };
    /** One pass of the reader: every snapshot not yet checked, of every table. */
    const readPass = async (): Promise<void> => {
      for (const [layer, t] of Object.entries(tables) as Array<[keyof typeof tables, IcebergTable]>) {
        const loaded = await t.load();
        for (const snap of loaded?.metadata.snapshots ?? []) {
          const id = `${layer}/${snap["snapshot-id"]}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const files = await plan(t, snap, loaded?.metadata);
          if (files.broken.length > 0 || files.manifestRows !== Number(snap.summary["total-records"]))
            failures.push({
              id,
              broken: files.broken,
              manifestRows: files.manifestRows,
              summary: snap.summary,
            });
          if (layer === "bronze") {
            const { rows, claimed } = await bronzeSnapshotReport(duck, files, snap);
            const want = wholeCommitsOf(claimed);
            if (JSON.stringify(rows) !== JSON.stringify(want)) failures.push({ id, rows, want });
            checked.bronze += 1;
          } else if (layer === "silver") {
            silverFiles.set(String(snap["snapshot-id"]), files);
            const r = await silverSnapshotReport(duck, files, snap);
            if (r.rows !== r.summaryRows || r.duplicates > 0 || r.rows === 0) failures.push({ id, ...r });
            checked.silver += 1;
          } else pendingGold.push(snap);
        }
      }
      for (const snap of pendingGold.splice(0)) if (!(await checkGold(snap))) pendingGold.push(snap);
    };

    let done = false;
    const reader = (async () => {
      while (!done) {
        await readPass().catch((err: unknown) => failures.push({ read: String(err) }));
        await Bun.sleep(20);
      }
    })();

    const jobs = marketJobs(config);
    const silverJob = jobs.find((j) => j.name === "silver.trades");
    const goldJob = jobs.find((j) => j.name === "gold.market");
    if (silverJob === undefined || goldJob === undefined) throw new Error("market jobs missing");
    let runs = 0;
    const runOnce = async (): Promise<void> => {
      await silverJob.run(ctx());
      const silverSnap = currentSnapshot(
        (await tables.silver.load())?.metadata ?? ({ snapshots: [] } as never),
      );
      await goldJob.run(ctx());
      const loaded = await tables.gold.load();
      const goldSnap = loaded === undefined ? undefined : currentSnapshot(loaded.metadata);
      if (goldSnap !== undefined && !goldReads.has(goldSnap["snapshot-id"]))
        goldReads.set(goldSnap["snapshot-id"], silverSnap);
      runs += 1;
    };
    const runner = (async () => {
      while (!done) {
        await runOnce().catch((err: unknown) => failures.push({ run: runs, err: String(err) }));
        // A run with nothing to do can finish without real I/O: without a real wait this loop would
        // hold the event loop and starve the producer and the reader.
        await Bun.sleep(50);
      }
    })();

    const env = {
      LAKE_URI: uri,
      LAKE_CONSUMER_GROUP: uniqueName("consistency_group"),
      LAKE_FLUSH_MS: "200",
      LAKE_FLUSH_ROWS: "500",
      LAKE_ICEBERG_COMMIT_MS: "300",
    };
    const args = tradesWriterArgs(topic);
    const chunk = Math.floor(MESSAGES / (KILLS + 1));
    let produced = 0;
    const produce = async (count: number): Promise<void> => {
      // 20 s of event time per record: the data spans many minutes and hours, so runs rewrite many files.
      await produceTrades(producer, topic, count, PARTITIONS, { startIndex: produced, stepUs: 20_000_000 });
      produced += count;
    };
    const started = performance.now();
    let kills = 0;
    let child: WriterChild | undefined;
    try {
      for (let life = 0; life < KILLS; life++) {
        await produce(chunk);
        child = spawnWriter(env, args);
        await Promise.race([child.consuming, child.exited, Bun.sleep(30_000)]);
        const [lo = 0, hi = 0] = LIFE_MS;
        await Bun.sleep(lo + Math.floor(Math.random() * (hi - lo)));
        child.kill9();
        await child.exited;
        if (child.proc.signalCode === "SIGKILL") kills += 1;
        else failures.push({ life, exit: child.proc.exitCode, tail: child.tail() });
      }
      // A last writer drains the rest and stops cleanly; the runs and reader catch up with it.
      await produce(MESSAGES - produced);
      child = spawnWriter(env, args);
      await Promise.race([child.consuming, child.exited, Bun.sleep(30_000)]);
      const until = Date.now() + (SOAK ? 600_000 : 30_000);
      const bronzeTotal = async () =>
        Number(
          currentSnapshot((await tables.bronze.load())?.metadata ?? ({ snapshots: [] } as never))?.summary[
            "total-records"
          ] ?? 0,
        );
      while (Date.now() < until && (await bronzeTotal()) < MESSAGES) await Bun.sleep(250);
      child.terminate();
      await child.exited;
      const runsAtDrain = runs;
      while (Date.now() < until && runs < runsAtDrain + 2) await Bun.sleep(100);
    } finally {
      child?.kill9();
      done = true;
      await Promise.allSettled([runner, reader]);
      await producer.disconnect();
    }
    await runner;
    await reader;
    await readPass();

    const bronze = await tables.bronze.load();
    const finalBronze = bronze === undefined ? undefined : currentSnapshot(bronze.metadata);
    console.log(
      JSON.stringify({
        consistency_test: { records: MESSAGES, kills, runs, checked, pending_gold: pendingGold.length },
        seconds: Math.round((performance.now() - started) / 1000),
      }),
    );
    expect(failures).toEqual([]);
    expect(Number(finalBronze?.summary["total-records"])).toBe(MESSAGES);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(checked.bronze).toBeGreaterThanOrEqual(MIN_SNAPSHOTS.bronze);
    expect(checked.silver).toBeGreaterThanOrEqual(MIN_SNAPSHOTS.silver);
    expect(checked.gold).toBeGreaterThanOrEqual(MIN_SNAPSHOTS.gold);
  },
  SOAK ? 1_800_000 : 120_000,
);
