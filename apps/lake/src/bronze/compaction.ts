/**
 * Compaction of closed bronze partitions: the small files of one leaf Hive partition (an hour and
 * symbol for Kraken, a day for CDC) are merged into files of about `targetBytes`, ordered by
 * (topic, kafka_partition, kafka_offset). Same protocol as the writer (docs/exactly-once.md):
 * stage the merged files, write a `compaction` record (new files + the paths they replace, same
 * rows), then commit the Iceberg `replace` snapshot (table-commit.ts), then publish: the replaced
 * files leave the tree (and are deleted) only once the table no longer names them. Recovery rolls a
 * recorded compaction forward the same way; an unrecorded one is garbage.
 *
 * Publishing, local disk ("swap"): the staged leaf directory holds the new files plus hard links
 * of the files that stay, and is exchanged with the live leaf in one `renameat2(RENAME_EXCHANGE)`:
 * a glob reader sees the old set or the new set, never both, never neither. Files the writer
 * publishes into the leaf meanwhile are moved back right after the exchange.
 * S3 ("copy"): new objects are copied in, then the replaced ones deleted; S3 has no multi-object
 * swap, so a glob reader can see both sets for that moment (readers of the commit log never do).
 */
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { basename, join } from "node:path";
import {
  COMMIT_LOG_VERSION,
  type CommitLog,
  type CompactionCommit,
  compactionCommitId,
  compactionCommitKey,
  type DatasetRef,
  parseRecord,
} from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog, type IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { dayPartitionPath, hourPath, partitionValues } from "@tributary/shared/lake/layout";
import type { LakeObject, LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { nowRfc3339, parseRfc3339Micros } from "@tributary/shared/time";
import { openDuckSession, sqlString, sqlStringList } from "../runtime/duckdb.ts";
import { exchangeDirs } from "./dir-swap.ts";
import type { FaultInjector } from "./faults.ts";
import { stagingPrefix } from "./staging.ts";
import { BronzeTableCommitter } from "./table-commit.ts";

export interface CompactionOptions {
  /** Aim for merged files of about this size. */
  readonly targetBytes: number;
  /** A partition is closed once its period ended this long ago. */
  readonly graceMs: number;
  /** Look this far back for closed partitions (ignored when `sinceMs` is given). */
  readonly lookbackHours: number;
  /** Consider partitions from this instant on (epoch ms). */
  readonly sinceMs?: number;
  /** Merge a leaf partition only when it has at least this many small files. */
  readonly minFiles: number;
  /** Local scratch directory (DuckDB output, S3 downloads). */
  readonly tmpDir: string;
  readonly now?: () => number;
  readonly faults?: FaultInjector;
  /** The catalog of the bronze tables (default: the embedded one on the lake's store). */
  readonly catalog?: IcebergCatalog;
}

export const DEFAULT_COMPACTION: Omit<CompactionOptions, "tmpDir"> = {
  targetBytes: 128 * 1024 * 1024,
  graceMs: 10 * 60_000,
  lookbackHours: 48,
  minFiles: 2,
};

export interface CompactionSummary {
  readonly partitions: number;
  readonly filesReplaced: number;
  readonly filesWritten: number;
  readonly rows: number;
  readonly rolledForward: number;
}

const MARKER = "_pending.json";
/** An unrecorded compaction staging dir older than this is garbage (one compactor per dataset). */
const ABANDONED_AFTER_MS = 60 * 60_000;

/** Hour-partitioned (Kraken) or day-partitioned (CDC) by name. */
function periodHours(ds: DatasetRef): number {
  return ds.name.startsWith("cdc_") ? 24 : 1;
}

/** Prefixes of the closed periods that start at or after `sinceMs`, oldest first. */
export function closedPeriodPrefixes(
  ds: DatasetRef,
  nowMs: number,
  graceMs: number,
  sinceMs: number,
): string[] {
  const hours = periodHours(ds);
  const step = hours * 3_600_000;
  const out: string[] = [];
  const lastClosedEnd = Math.floor((nowMs - graceMs) / step) * step;
  for (let start = lastClosedEnd - step; start >= Math.floor(sinceMs / step) * step; start -= step) {
    const at = BigInt(start) * 1000n;
    out.push(`${ds.layer}/${ds.name}/${hours === 24 ? dayPartitionPath(at) : hourPath(at)}/`);
  }
  return out.reverse();
}

/** The committer of the dataset's Iceberg table, which must hold a compaction before it publishes. */
function tableOf(store: LakeStore, log: CommitLog, ds: DatasetRef, catalog?: IcebergCatalog) {
  const kind = periodHours(ds) === 24 ? "cdc" : "kraken";
  return new BronzeTableCommitter(store, log, catalog ?? new EmbeddedCatalog(store), ds, kind);
}

export async function compactDataset(
  store: LakeStore,
  log: CommitLog,
  ds: DatasetRef,
  opts: CompactionOptions,
  logger: Logger,
): Promise<CompactionSummary> {
  const table = tableOf(store, log, ds, opts.catalog);
  const rolledForward = await recoverCompactions(store, ds, logger, opts.now?.() ?? Date.now(), table);
  // Files of appends still being rolled forward are left alone until they are whole.
  const pending = new Set<string>();
  for await (const o of store.list(stagingPrefix(ds))) {
    const m = /\/tp=(.+-\d+-\d{20})\//.exec(o.key);
    if (m?.[1] !== undefined) pending.add(m[1]);
  }
  let partitions = 0;
  let filesReplaced = 0;
  let filesWritten = 0;
  let rows = 0;
  const now = opts.now?.() ?? Date.now();
  const since = opts.sinceMs ?? now - opts.lookbackHours * 3_600_000;
  for (const prefix of closedPeriodPrefixes(ds, now, opts.graceMs, since)) {
    const byDir = new Map<string, LakeObject[]>();
    for await (const o of store.list(prefix)) {
      if (!o.key.endsWith(".parquet")) continue;
      const name = o.key.slice(o.key.lastIndexOf("/") + 1);
      const coord = /^(.+-\d+-\d{20})-\d+\.parquet$/.exec(name)?.[1];
      if (coord !== undefined && pending.has(coord)) continue;
      if (o.bytes >= opts.targetBytes / 2) continue; // already big enough
      const dir = o.key.slice(0, o.key.lastIndexOf("/"));
      byDir.set(dir, [...(byDir.get(dir) ?? []), o]);
    }
    for (const [dir, files] of byDir) {
      if (files.length < Math.max(2, opts.minFiles)) continue;
      const r = await compactPartition(store, log, ds, dir, files, opts, logger, table);
      partitions += 1;
      filesReplaced += files.length;
      filesWritten += r.files;
      rows += r.rows;
    }
  }
  if (partitions > 0)
    logger.info("compacted", { dataset: ds.name, partitions, filesReplaced, filesWritten, rows });
  return { partitions, filesReplaced, filesWritten, rows, rolledForward };
}

async function compactPartition(
  store: LakeStore,
  log: CommitLog,
  ds: DatasetRef,
  dir: string,
  files: readonly LakeObject[],
  opts: CompactionOptions,
  logger: Logger,
  table: BronzeTableCommitter,
): Promise<{ files: number; rows: number }> {
  const id = compactionCommitId(nowRfc3339(), randomBytes(4).toString("hex"));
  const stagingDir = `${stagingPrefix(ds)}compaction-${id}`;
  const scratch = join(opts.tmpDir, `compaction-${id}`);
  mkdirSync(join(scratch, "in"), { recursive: true });
  try {
    using duck = await openDuckSession({
      threads: 2,
      memoryLimitMb: 256,
      tempDir: join(scratch, "duckdb"),
      preserveInsertionOrder: true, // the merged files keep the ORDER BY across FILE_SIZE_BYTES splits
    });
    const inputs: string[] = [];
    for (const [i, f] of files.entries()) {
      if (store.kind === "local") inputs.push(store.url(f.key));
      else {
        const local = join(scratch, "in", `${i}.parquet`);
        await Bun.write(local, await store.read(f.key));
        inputs.push(local);
      }
    }
    const list = sqlStringList(inputs);
    const sourceRows = Number(
      await duck.scalar(`SELECT count(*)::BIGINT AS n FROM read_parquet(${list}, hive_partitioning = false)`),
    );
    const outDir = join(scratch, "out");
    const stats = await duck.rows(
      `COPY (SELECT * FROM read_parquet(${list}, hive_partitioning = false) ORDER BY topic, kafka_partition, kafka_offset) ` +
        `TO ${sqlString(outDir)} (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES ${Math.max(1024 * 1024, opts.targetBytes)}, ` +
        `FILENAME_PATTERN 'part_{i}', RETURN_STATS true)`,
    );
    const written = stats.map((r) => ({
      path: String(r.filename),
      rows: Number(r.count),
      bytes: Number(r.file_size_bytes),
    }));
    written.sort((a, b) => (a.path < b.path ? -1 : 1));
    const outRows = written.reduce((n, w) => n + w.rows, 0);
    if (outRows !== sourceRows)
      throw new Error(`compaction of ${dir}: wrote ${outRows} rows from ${sourceRows}`);

    const partition = partitionValues(dir);
    const mode: PublishMode = store.kind === "local" && exchangeDirs !== undefined ? "swap" : "copy";
    const names = written.map((_, n) => `compacted-${id}-${n}.parquet`);
    const staged = names.map((name, n) =>
      mode === "swap" ? `${stagingDir}/leaf/${name}` : `${stagingDir}/part_${n}.parquet`,
    );
    await store.put(`${stagingDir}/${MARKER}`, JSON.stringify({ id, dir, mode }));
    for (const [n, w] of written.entries()) await store.putFile(w.path, staged[n] as string);
    opts.faults?.hit("after-stage");

    const record: CompactionCommit = {
      v: COMMIT_LOG_VERSION,
      id,
      kind: "compaction",
      layer: ds.layer,
      dataset: ds.name,
      rows: outRows,
      files: written.map((w, n) => ({ path: `${dir}/${names[n]}`, rows: w.rows, bytes: w.bytes, partition })),
      replaces: files.map((f) => f.key),
      committed_at: nowRfc3339(),
      writer: id,
      staged,
    };
    await log.compaction(ds, record);
    opts.faults?.hit("after-commit-record");
    await finishCompaction(store, record, stagingDir, mode, table, opts.faults);
    logger.debug("compacted partition", {
      dir,
      mode,
      replaced: files.length,
      written: written.length,
      rows: outRows,
    });
    return { files: written.length, rows: outRows };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

type PublishMode = "swap" | "copy";

/**
 * Commits a recorded compaction to the table, then publishes it (idempotent: recovery calls it
 * again after a crash). The replaced files are deleted only after the table's replace snapshot.
 */
async function finishCompaction(
  store: LakeStore,
  record: CompactionCommit,
  stagingDir: string,
  mode: PublishMode,
  table: BronzeTableCommitter,
  faults?: FaultInjector,
): Promise<void> {
  await table.commitThrough(record.id);
  faults?.hit("after-table-commit");
  if (mode === "swap") swapLeaf(store, record, stagingDir, faults);
  else {
    for (const [i, f] of record.files.entries()) {
      await store.move(record.staged[i] as string, f.path);
      if (i === 0) faults?.hit("mid-publish");
    }
    for (const old of record.replaces) await store.delete(old);
  }
  faults?.hit("after-publish");
  await store.delete(`${stagingDir}/${MARKER}`);
}

/** Local disk: exchange the staged leaf (new files + links of the kept ones) with the live leaf. */
function swapLeaf(
  store: LakeStore,
  record: CompactionCommit,
  stagingDir: string,
  faults?: FaultInjector,
): void {
  const first = record.files[0];
  if (first === undefined || exchangeDirs === undefined) return;
  const leaf = store.url(first.path.slice(0, first.path.lastIndexOf("/")));
  const stage = store.url(`${stagingDir}/leaf`);
  const replaced = new Set(record.replaces.map((k) => basename(k)));
  if (!existsSync(join(leaf, basename(first.path)))) {
    // Not swapped yet: every live file that stays is linked into the new leaf, then one exchange.
    for (const name of readdirSync(leaf)) {
      if (!replaced.has(name) && !name.startsWith(".") && !existsSync(join(stage, name)))
        linkSync(join(leaf, name), join(stage, name));
    }
    exchangeDirs(stage, leaf);
    faults?.hit("mid-publish");
  }
  // The staging path now holds the old leaf: drop what was replaced or kept, move back late arrivals.
  if (!existsSync(stage)) return;
  for (const name of readdirSync(stage)) {
    if (replaced.has(name) || existsSync(join(leaf, name))) unlinkSync(join(stage, name));
    else renameSync(join(stage, name), join(leaf, name));
  }
  rmSync(stage, { recursive: true, force: true });
}

/** Rolls recorded compactions forward; deletes abandoned unrecorded ones. Returns how many rolled forward. */
export async function recoverCompactions(
  store: LakeStore,
  ds: DatasetRef,
  logger: Logger,
  nowMs: number,
  table: BronzeTableCommitter,
): Promise<number> {
  const dirs = new Map<string, string[]>();
  for await (const o of store.list(stagingPrefix(ds))) {
    const m = /^(.*\/compaction-[^/]+)\//.exec(o.key);
    if (m === null) continue;
    const dir = m[1] as string;
    dirs.set(dir, [...(dirs.get(dir) ?? []), o.key]);
  }
  let rolled = 0;
  for (const [dir, keys] of dirs) {
    const id = dir.slice(dir.lastIndexOf("/compaction-") + "/compaction-".length);
    const key = compactionCommitKey(ds, id);
    const text = await store.readTextIfExists(key);
    if (text !== undefined) {
      const record = parseRecord(key, text) as CompactionCommit;
      const marker = await store.readTextIfExists(`${dir}/${MARKER}`);
      const mode: PublishMode =
        marker !== undefined
          ? (JSON.parse(marker) as { mode: PublishMode }).mode
          : keys.some((k) => k.includes("/leaf/"))
            ? "swap"
            : "copy";
      await finishCompaction(store, record, dir, mode, table);
      for (const k of keys) await store.delete(k);
      if (store.kind === "local") rmSync(store.url(dir), { recursive: true, force: true });
      rolled += 1;
      logger.info("rolled a compaction forward", { dataset: ds.name, id });
      continue;
    }
    if (nowMs - compactionStartMs(id) > ABANDONED_AFTER_MS) {
      for (const k of keys) await store.delete(k);
      if (store.kind === "local") rmSync(store.url(dir), { recursive: true, force: true });
    }
  }
  return rolled;
}

/** When a compaction began, from its id (`20240501T140000123456Z-<hex>`); 0 if unreadable. */
function compactionStartMs(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{6})Z-/.exec(id);
  if (m === null) return 0;
  try {
    return Number(parseRfc3339Micros(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`) / 1000n);
  } catch {
    return 0;
  }
}
