/**
 * What a silver run reads from bronze: the append commits after its watermark (a CommitCursor),
 * resolved to files. A commit's own files are read whole when they are in the tree. When bronze
 * compaction has replaced them, their partition directory is read with an offset filter instead
 * (the compacted files hold the same rows; a file moved by `bun run lake migrate` is found the same
 * way, in its partition's directory of the current layout). A commit whose files are still being moved in (the
 * record exists, the files are staged) is left, with everything after it in its Kafka partition,
 * for the next run: the cursor stops just before it.
 */
import {
  type AppendCommit,
  type CommitCursor,
  type CommitLog,
  type DatasetRef,
  EMPTY_CURSOR,
} from "@tributary/shared/lake/commit-log";
import { currentLayoutKey } from "@tributary/shared/lake/layout";

export interface FilteredRead {
  /** Partition directory key (relative to the lake root), read as `<dir>/*.parquet`. */
  readonly dirKey: string;
  readonly topic: string;
  readonly partition: number;
  readonly first: bigint;
  readonly last: bigint;
}

export interface BronzeBatch {
  /** Lake keys of files read whole. */
  readonly files: readonly string[];
  /** Partition directories read with an offset filter (commits whose files were compacted). */
  readonly filtered: readonly FilteredRead[];
  /** The watermark after this batch. */
  readonly cursor: CommitCursor;
  readonly commits: number;
  readonly rows: number;
  /** Commits left for a later run (row budget reached, or files not yet moved in). */
  readonly deferred: number;
}

export interface BatchOptions {
  /** Stop taking commits once this many rows are taken (at least one commit is always taken). */
  readonly maxRows?: number;
}

export async function nextBronzeBatch(
  log: CommitLog,
  ds: DatasetRef,
  cursor: CommitCursor = EMPTY_CURSOR,
  opts: BatchOptions = {},
): Promise<BronzeBatch> {
  const maxRows = opts.maxRows ?? Number.POSITIVE_INFINITY;
  const { records, cursor: full } = await log.readSince(ds, cursor);
  const byPartition = new Map<string, AppendCommit[]>();
  for (const r of records) {
    if (r.kind !== "append") continue; // compactions re-pack rows already read
    const key = `${r.topic}/${r.partition}`;
    const list = byPartition.get(key) ?? [];
    list.push(r);
    byPartition.set(key, list);
  }
  const files: string[] = [];
  const filtered: FilteredRead[] = [];
  const appends: Record<string, string> = { ...full.appends };
  let rows = 0;
  let commits = 0;
  let deferred = 0;
  for (const [key, list] of [...byPartition.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    list.sort((a, b) => compareBig(BigInt(a.first_offset), BigInt(b.first_offset)));
    let stopAt: number | undefined;
    for (let i = 0; i < list.length; i++) {
      const r = list[i] as AppendCommit;
      if (commits > 0 && rows + r.rows > maxRows) {
        stopAt = i;
        break;
      }
      const plan = await planRecord(log, r);
      if (plan === "staged") {
        stopAt = i;
        break;
      }
      files.push(...plan.files);
      filtered.push(...plan.filtered);
      rows += r.rows;
      commits += 1;
    }
    if (stopAt !== undefined) {
      appends[key] = (list[stopAt] as AppendCommit).first_offset;
      deferred += list.length - stopAt;
    }
  }
  return { files, filtered, cursor: { ...full, appends }, commits, rows, deferred };
}

async function planRecord(
  log: CommitLog,
  r: AppendCommit,
): Promise<"staged" | { files: string[]; filtered: FilteredRead[] }> {
  const files: string[] = [];
  const filtered: FilteredRead[] = [];
  for (let i = 0; i < r.files.length; i++) {
    const f = r.files[i];
    if (!f) continue;
    if (await log.store.exists(f.path)) {
      files.push(f.path);
      continue;
    }
    const staged = r.staged[i];
    if (staged !== undefined && (await log.store.exists(staged))) return "staged";
    filtered.push({
      // The partition's directory in today's layout: `bun run lake migrate` may have moved it.
      dirKey: currentLayoutKey(f.path.slice(0, f.path.lastIndexOf("/"))),
      topic: r.topic,
      partition: r.partition,
      first: BigInt(r.first_offset),
      last: BigInt(r.last_offset),
    });
  }
  return { files, filtered };
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
