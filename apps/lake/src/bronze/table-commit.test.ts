import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadConfig } from "@tributary/shared/config";
import {
  type AppendCommit,
  appendCommitId,
  CommitLog,
  type CompactionCommit,
  compactionCommitId,
  type DatasetRef,
} from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog, type IcebergCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { currentSnapshot } from "@tributary/shared/lake/iceberg/metadata";
import type { LakeStore } from "@tributary/shared/lake/store";
import { lakeStoreBackends } from "@tributary/shared/testing/lake-stores";
import { attemptDir, publishedFileName, tpDirValue } from "./staging.ts";
import { BronzeTableCommitter, snapshotOffsets } from "./table-commit.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-table-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ds: DatasetRef = { layer: "bronze", name: "kraken_trades" };
const topic = "kraken.trades";
const db = await DuckDBInstance.create(":memory:");
const duck = await db.connect();
const HOUR_DIR = "bronze/kraken_trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD";
const PARTITION = { year: "2024", month: "5", day: "1", hour: "14", pair: "BTC_USD" };

/** A bronze file of offsets first..last written by DuckDB, staged (not yet moved into the tree). */
async function stagedRecord(
  store: LakeStore,
  partition: number,
  first: number,
  last: number,
): Promise<AppendCommit> {
  const local = join(scratch, `f-${crypto.randomUUID()}.parquet`);
  await duck.run(`COPY (SELECT '${topic}' AS topic, ${partition}::INTEGER AS kafka_partition, o::BIGINT AS kafka_offset,
      'BTC/USD'::BLOB AS kafka_key, '{}'::BLOB AS kafka_value, TIMESTAMPTZ '2024-05-01 14:00:00+00' AS kafka_timestamp,
      TIMESTAMPTZ '2024-05-01 14:00:01+00' AS ingested_at, TIMESTAMPTZ '2024-05-01 14:00:00+00' + o * INTERVAL 1 MICROSECOND AS event_ts,
      false AS event_ts_from_kafka FROM range(${first}, ${last + 1}) t(o)) TO '${local}' (FORMAT parquet)`);
  const staged = `${attemptDir(ds, "w1-1")}/tp=${tpDirValue(topic, partition, BigInt(first))}/p0_part_0.parquet`;
  const bytes = await store.putFile(local, staged);
  const rows = last - first + 1;
  return {
    v: 1,
    id: appendCommitId(topic, partition, BigInt(first)),
    kind: "append",
    layer: "bronze",
    dataset: "kraken_trades",
    topic,
    partition,
    first_offset: String(first),
    last_offset: String(last),
    rows,
    files: [
      {
        path: `${HOUR_DIR}/${publishedFileName(topic, partition, BigInt(first), 0)}`,
        rows,
        bytes,
        partition: PARTITION,
      },
    ],
    committed_at: new Date().toISOString(),
    writer: "w1-1",
    staged: [staged],
  };
}

/** Offsets of the table's current files, as DuckDB reads them: [partition, offset, copies]. */
async function tableOffsets(
  store: LakeStore,
  c: BronzeTableCommitter,
): Promise<Array<[number, number, number]>> {
  const files: string[] = [];
  for (const f of await c.table.files()) {
    // DuckDB here has no httpfs: read S3 objects through a local copy.
    if (store.kind === "local") files.push(f.path);
    else {
      const local = join(scratch, `dl-${crypto.randomUUID()}.parquet`);
      await Bun.write(local, await store.read(lakeKeyOf(store, f.path)));
      files.push(local);
    }
  }
  if (files.length === 0) return [];
  const r = await duck.runAndReadAll(
    `SELECT kafka_partition, kafka_offset::INTEGER, count(*)::INTEGER FROM read_parquet([${files.map((f) => `'${f}'`).join(",")}]) GROUP BY ALL ORDER BY ALL`,
  );
  return r.getRows() as Array<[number, number, number]>;
}

const range = (p: number, a: number, b: number) =>
  Array.from({ length: b - a + 1 }, (_, i): [number, number, number] => [p, a + i, 1]);

/** A catalog whose commits die before they land (a writer killed between staging manifests and the commit). */
class DyingCatalog extends EmbeddedCatalog {
  override async commit(...args: Parameters<IcebergCatalog["commit"]>): ReturnType<IcebergCatalog["commit"]> {
    void args;
    throw new Error("killed before the commit");
  }
}

for (const [kind, make] of lakeStoreBackends(config, scratch, "bronze_table")) {
  describe(`bronze commits become Iceberg snapshots (${kind})`, () => {
    test("every committed offset is in the table exactly once, across crashes, retries and racing committers", async () => {
      const store = make();
      const log = new CommitLog(store);
      await log.append(ds, await stagedRecord(store, 0, 0, 99));
      await log.append(ds, await stagedRecord(store, 1, 0, 49));
      // Killed between staging its manifests and the commit: the table is unchanged.
      const dying = new BronzeTableCommitter(store, log, new DyingCatalog(store), ds, "kraken");
      expect(dying.commit()).rejects.toThrow("killed");
      const a = new BronzeTableCommitter(store, log, new EmbeddedCatalog(store), ds, "kraken");
      const first = await a.commit();
      expect(first.records).toBe(2);
      expect(await tableOffsets(store, a)).toEqual([...range(0, 0, 99), ...range(1, 0, 49)]);
      // Files were rolled forward into the tree before the snapshot named them.
      expect(await store.exists(`${HOUR_DIR}/${publishedFileName(topic, 0, 0n, 0)}`)).toBe(true);

      await log.append(ds, await stagedRecord(store, 0, 100, 199));
      await log.append(ds, await stagedRecord(store, 1, 50, 59));
      const b = new BronzeTableCommitter(store, log, new EmbeddedCatalog(store), ds, "kraken");
      const results = await Promise.all([a.commit(), b.commit(), a.commit()]);
      expect(results.reduce((n, r) => n + r.records, 0)).toBe(2);
      expect(await tableOffsets(store, a)).toEqual([...range(0, 0, 199), ...range(1, 0, 59)]);
      const snap = currentSnapshot((await a.table.loadOrCreate()).metadata);
      expect(snapshotOffsets(snap)).toEqual({ "kraken.trades/0": "200", "kraken.trades/1": "60" });
      expect(snap?.summary["total-records"]).toBe("260");
      expect((await a.commit()).records).toBe(0);
    });

    test("a compaction becomes a replace snapshot with the same rows", async () => {
      const store = make();
      const log = new CommitLog(store);
      const r1 = await stagedRecord(store, 0, 0, 9);
      const r2 = await stagedRecord(store, 0, 10, 19);
      await log.append(ds, r1);
      await log.append(ds, r2);
      const committer = new BronzeTableCommitter(store, log, new EmbeddedCatalog(store), ds, "kraken");
      await committer.commit();
      // Merge both files into one (the compaction job's result), staged, then recorded.
      const merged = `${HOUR_DIR}/compacted-0.parquet`;
      const local = join(scratch, `m-${crypto.randomUUID()}.parquet`);
      const parts: string[] = [];
      for (const f of [...r1.files, ...r2.files]) {
        const copy = join(scratch, `in-${crypto.randomUUID()}.parquet`);
        await Bun.write(copy, await store.read(f.path));
        parts.push(`'${copy}'`);
      }
      await duck.run(
        `COPY (SELECT * FROM read_parquet([${parts.join(",")}]) ORDER BY kafka_offset) TO '${local}' (FORMAT parquet)`,
      );
      const staged = "_tributary/staging/bronze/kraken_trades/c1/compacted-0.parquet";
      const bytes = await store.putFile(local, staged);
      const at = new Date().toISOString();
      const compaction: CompactionCommit = {
        v: 1,
        id: compactionCommitId(at, "abc"),
        kind: "compaction",
        layer: "bronze",
        dataset: "kraken_trades",
        rows: 20,
        files: [{ path: merged, rows: 20, bytes, partition: PARTITION }],
        committed_at: at,
        writer: "c1",
        staged: [staged],
        replaces: [...r1.files, ...r2.files].map((f) => f.path),
      };
      await log.compaction(ds, compaction);
      const result = await committer.commit();
      expect(result.replaced?.summary.operation).toBe("replace");
      // The table names the compaction's own copy, in place before the Hive tree changes.
      const copy = committer.tableFileKey(merged);
      expect(copy).toBe(`_iceberg/bronze/kraken_trades/data/${merged.slice("bronze/kraken_trades/".length)}`);
      expect((await committer.table.files()).map((f) => f.path)).toEqual([store.url(copy)]);
      expect(await store.exists(copy)).toBe(true);
      expect(await store.exists(staged)).toBe(true); // publishing is the compaction's, after this commit
      // The snapshots that held the replaced files are expired in the same commit.
      const kept = (await committer.table.load())?.metadata.snapshots ?? [];
      expect(kept.map((s) => s["snapshot-id"])).toEqual([result.replaced?.["snapshot-id"] as number]);
      expect(await tableOffsets(store, committer)).toEqual(range(0, 0, 19));
      expect((await committer.commit()).replaced).toBeUndefined();
      // Appends after it carry the compaction applied, so a later replace starts after it.
      await log.append(ds, await stagedRecord(store, 0, 20, 29));
      const appended = (await committer.commit()).appended;
      expect(appended?.summary["tributary.compaction"]).toBe(compaction.id);
      await committer.commitThrough(compaction.id);
    });
  });
}
