/**
 * The lake's commit log: one immutable JSON record per commit, kept IN the lake under
 * `<LAKE_URI>/_tributary/commits/<layer>/<dataset>/`. A record is the commit point of the data it
 * lists: files named in a record are committed (the writer publishes them into the dataset tree
 * right after, and recovery finishes the job if it dies); nothing else ever enters the tree.
 * Schema and protocol: docs/exactly-once.md.
 *
 * Layout (keys relative to the lake root):
 *   _tributary/commits/<layer>/<dataset>/append/<topic>/<partition>/<first_offset, 20 digits>.json
 *   _tributary/commits/<layer>/<dataset>/compaction/<id>.json
 *   _tributary/commits/<layer>/<dataset>/tips/<topic>/<partition>.json   (advisory, overwritten)
 *
 * Append records of one (topic, partition) form a chain: the first starts at offset 0 and each next
 * one starts at the previous `last_offset + 1`. Records are created exclusively (a second writer
 * of the same key fails), so a partition's chain can never fork, even with a zombie writer.
 *
 * Readers (silver, gold, console) use {@link CommitLog.readSince} with a {@link CommitCursor} as
 * their incremental watermark, and {@link CommitLog.liveFiles} for the current file set.
 */
import { INTERNAL_DIR, type Layer } from "./layout.ts";
import { LakeConflictError, type LakeStore } from "./store.ts";

export const COMMIT_LOG_VERSION = 1 as const;

/** A dataset of the lake: `{layer: "bronze", name: "kraken_trades"}`. */
export interface DatasetRef {
  readonly layer: Layer;
  readonly name: string;
}

/** One Parquet file of a commit. */
export interface CommittedFile {
  /** Path relative to the lake root: `bronze/kraken_trades/year=2024/…/pair=BTC_USD/<name>.parquet`. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  /** Hive partition values of the file, as in its path: `{year:"2024", month:"05", …, symbol:"BTC_USD"}`. */
  readonly partition: Readonly<Record<string, string>>;
}

interface CommitBase {
  readonly v: typeof COMMIT_LOG_VERSION;
  /** Unique within the dataset; see {@link appendCommitId} and {@link compactionCommitId}. */
  readonly id: string;
  readonly layer: Layer;
  readonly dataset: string;
  readonly rows: number;
  readonly files: readonly CommittedFile[];
  /** RFC 3339 UTC with microseconds, the writer's clock when it wrote the record. */
  readonly committed_at: string;
  /** Identifies the writing attempt; staged files of other attempts are garbage. */
  readonly writer: string;
  /** Where each file of `files` (same index) waits before it is moved into the tree. */
  readonly staged: readonly string[];
}

/** New rows from Kafka offsets `first_offset..last_offset` (inclusive) of one topic-partition. */
export interface AppendCommit extends CommitBase {
  readonly kind: "append";
  readonly topic: string;
  readonly partition: number;
  /** Start of the range: 0 for the first record of the partition, else the previous `last_offset + 1`. Decimal string (int64). */
  readonly first_offset: string;
  /** Last Kafka offset covered (decimal string). Offsets in the range absent from Kafka (gaps) have no row. */
  readonly last_offset: string;
}

/** Files replaced by others holding exactly the same rows (e.g. compaction of a closed hour). */
export interface CompactionCommit extends CommitBase {
  readonly kind: "compaction";
  /** Paths (relative to the lake root) removed from the dataset by this commit. */
  readonly replaces: readonly string[];
}

export type CommitRecord = AppendCommit | CompactionCommit;

/**
 * Incremental watermark: for each `topic/partition`, the next offset not yet read, plus the last
 * compaction id read. Treat it as opaque JSON; persist it with the job's state.
 */
export interface CommitCursor {
  readonly v: typeof COMMIT_LOG_VERSION;
  readonly appends: Readonly<Record<string, string>>;
  readonly compaction: string | undefined;
}

export const EMPTY_CURSOR: CommitCursor = Object.freeze({
  v: COMMIT_LOG_VERSION,
  appends: {},
  compaction: undefined,
});

/** Two writers raced for the same commit key; this one lost and must not publish its files. */
export class CommitConflictError extends Error {
  override readonly name = "CommitConflictError";
  constructor(readonly key: string) {
    super(`commit already exists (another writer committed this range first): ${key}`);
  }
}

/** A record in the log could not be read as a commit record. */
export class CommitLogError extends Error {
  override readonly name = "CommitLogError";
}

const OFFSET_DIGITS = 20;
export const padOffset = (offset: bigint): string => offset.toString().padStart(OFFSET_DIGITS, "0");

/** `kraken.trades/3/00000000000000012345`: topic, partition and range start. */
export function appendCommitId(topic: string, partition: number, firstOffset: bigint): string {
  return `${topic}/${partition}/${padOffset(firstOffset)}`;
}

/** `20240501T140000123456Z-<hex>`: sorts by time, then at random. */
export function compactionCommitId(committedAt: string, nonce: string): string {
  return `${committedAt.replace(/[-:.]/g, "")}-${nonce}`;
}

export function datasetCommitsPrefix(ds: DatasetRef): string {
  return `${INTERNAL_DIR}/commits/${ds.layer}/${ds.name}/`;
}

export function appendCommitKey(
  ds: DatasetRef,
  topic: string,
  partition: number,
  firstOffset: bigint,
): string {
  return `${datasetCommitsPrefix(ds)}append/${topic}/${partition}/${padOffset(firstOffset)}.json`;
}

export function compactionCommitKey(ds: DatasetRef, id: string): string {
  return `${datasetCommitsPrefix(ds)}compaction/${id}.json`;
}

function tipKey(ds: DatasetRef, topic: string, partition: number): string {
  return `${datasetCommitsPrefix(ds)}tips/${topic}/${partition}.json`;
}

/** The chain of a partition as read from the log. */
export interface PartitionChain {
  /** Records on the chain from where the walk started (the tip hint, or offset 0), in offset order. */
  readonly records: readonly AppendCommit[];
  /** The newest record, if any. */
  readonly tip: AppendCommit | undefined;
  /** Next offset to consume: `tip.last_offset + 1`, or 0 when nothing was ever committed. */
  readonly resumeOffset: bigint;
}

export class CommitLog {
  /** Advisory tip hints are refreshed at most this often per partition. */
  private readonly hintEveryMs: number;
  private readonly hintWritten = new Map<string, number>();

  constructor(
    readonly store: LakeStore,
    opts: { readonly hintEveryMs?: number } = {},
  ) {
    this.hintEveryMs = opts.hintEveryMs ?? 5_000;
  }

  /**
   * Writes an append record: the commit point of its files. Exclusive: throws
   * {@link CommitConflictError} if a record with the same (topic, partition, first_offset) exists.
   */
  async append(ds: DatasetRef, record: AppendCommit): Promise<void> {
    checkRecord(record, ds);
    const first = BigInt(record.first_offset);
    const key = appendCommitKey(ds, record.topic, record.partition, first);
    await this.create(key, record);
    const hint = `${ds.layer}/${ds.name}/${record.topic}/${record.partition}`;
    const now = Date.now();
    if (now - (this.hintWritten.get(hint) ?? 0) >= this.hintEveryMs) {
      this.hintWritten.set(hint, now);
      await this.store.put(
        tipKey(ds, record.topic, record.partition),
        JSON.stringify({ first_offset: record.first_offset }),
      );
    }
  }

  /** Writes a compaction record (exclusive on its id). */
  async compaction(ds: DatasetRef, record: CompactionCommit): Promise<void> {
    checkRecord(record, ds);
    await this.create(compactionCommitKey(ds, record.id), record);
  }

  private async create(key: string, record: CommitRecord): Promise<void> {
    try {
      await this.store.put(key, `${JSON.stringify(record)}\n`, { ifAbsent: true });
    } catch (err) {
      if (err instanceof LakeConflictError) throw new CommitConflictError(key);
      throw err;
    }
  }

  /** Reads one append record, or `undefined` if none has that key. */
  async readAppend(
    ds: DatasetRef,
    topic: string,
    partition: number,
    firstOffset: bigint,
  ): Promise<AppendCommit | undefined> {
    const key = appendCommitKey(ds, topic, partition, firstOffset);
    const text = await this.store.readTextIfExists(key);
    return text === undefined ? undefined : (parseRecord(key, text) as AppendCommit);
  }

  /**
   * Walks a partition's chain from `fromOffset` (default: the advisory tip hint, else 0) to its end.
   * Cost: one LIST from the start point, so a recent hint keeps recovery cheap on a long log.
   */
  async chain(
    ds: DatasetRef,
    topic: string,
    partition: number,
    opts: { readonly fromOffset?: bigint } = {},
  ): Promise<PartitionChain> {
    let from = opts.fromOffset;
    if (from === undefined) {
      const hint = await this.store.readTextIfExists(tipKey(ds, topic, partition));
      from = hint === undefined ? 0n : BigInt((JSON.parse(hint) as { first_offset: string }).first_offset);
    }
    const prefix = `${datasetCommitsPrefix(ds)}append/${topic}/${partition}/`;
    const startAfter = from > 0n ? `${prefix}${padOffset(from - 1n)}.json` : undefined;
    const records: AppendCommit[] = [];
    let expected = from;
    for await (const obj of this.store.list(prefix, startAfter === undefined ? {} : { startAfter })) {
      if (!obj.key.endsWith(".json")) continue;
      const first = BigInt(obj.key.slice(prefix.length, -".json".length));
      if (first < expected) continue; // cannot happen with exclusive keys; never on the chain
      if (first > expected) {
        if (records.length === 0 && from > 0n) {
          // The hint pointed at a record that is not there: walk from the start instead.
          return this.chain(ds, topic, partition, { fromOffset: 0n });
        }
        break;
      }
      const record = parseRecord(obj.key, await this.store.readText(obj.key)) as AppendCommit;
      records.push(record);
      expected = BigInt(record.last_offset) + 1n;
    }
    const tip = records.at(-1);
    return { records, tip, resumeOffset: tip === undefined ? from : BigInt(tip.last_offset) + 1n };
  }

  /** Next offset to consume for (topic, partition): the chain tip's `last_offset + 1`, or 0. */
  async resumeOffset(ds: DatasetRef, topic: string, partition: number): Promise<bigint> {
    return (await this.chain(ds, topic, partition)).resumeOffset;
  }

  /** Topic-partitions that have append records in the dataset, as `[topic, partition]`. */
  async partitions(ds: DatasetRef): Promise<Array<readonly [string, number]>> {
    const out: Array<readonly [string, number]> = [];
    const base = `${datasetCommitsPrefix(ds)}append/`;
    for (const topic of await this.store.children(base)) {
      for (const p of await this.store.children(`${base}${topic}/`)) {
        if (/^\d+$/.test(p)) out.push([topic, Number(p)]);
      }
    }
    return out;
  }

  /**
   * Every record after `cursor` (default: from the beginning), in the total order
   * (committed_at, id), and the cursor to pass next time. Exact for appends: per partition the
   * cursor holds the next offset, so a record that lands late (clock skew, a slow writer) is still
   * returned on the next call, never skipped.
   */
  async readSince(
    ds: DatasetRef,
    cursor: CommitCursor = EMPTY_CURSOR,
  ): Promise<{ records: CommitRecord[]; cursor: CommitCursor }> {
    const records: CommitRecord[] = [];
    const appends: Record<string, string> = { ...cursor.appends };
    for (const [topic, partition] of await this.partitions(ds)) {
      const key = `${topic}/${partition}`;
      const from = BigInt(appends[key] ?? "0");
      const chain = await this.chain(ds, topic, partition, { fromOffset: from });
      records.push(...chain.records);
      appends[key] = chain.resumeOffset.toString();
    }
    const compactions = await this.compactionsSince(ds, cursor.compaction);
    records.push(...compactions);
    const compaction = compactions.at(-1)?.id ?? cursor.compaction;
    records.sort(totalOrder);
    return { records, cursor: { v: COMMIT_LOG_VERSION, appends, compaction } };
  }

  /** Compaction records after the one with id `afterId` (all when undefined), in id order. */
  async compactionsSince(ds: DatasetRef, afterId: string | undefined): Promise<CompactionCommit[]> {
    const prefix = `${datasetCommitsPrefix(ds)}compaction/`;
    const out: CompactionCommit[] = [];
    const startAfter = afterId === undefined ? undefined : `${prefix}${afterId}.json`;
    for await (const obj of this.store.list(prefix, startAfter === undefined ? {} : { startAfter })) {
      if (obj.key.endsWith(".json"))
        out.push(parseRecord(obj.key, await this.store.readText(obj.key)) as CompactionCommit);
    }
    return out;
  }

  /** The dataset's committed files now: every appended or compacted file not replaced since. */
  async liveFiles(ds: DatasetRef): Promise<CommittedFile[]> {
    const { records } = await this.readSince(ds);
    const live = new Map<string, CommittedFile>();
    for (const r of records) {
      if (r.kind === "compaction") for (const p of r.replaces) live.delete(p);
      for (const f of r.files) live.set(f.path, f);
    }
    return [...live.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}

/** Total order of records: `committed_at`, then `id`. */
export function totalOrder(a: CommitRecord, b: CommitRecord): number {
  if (a.committed_at !== b.committed_at) return a.committed_at < b.committed_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Offset ranges (inclusive) covered by append records, for `WHERE kafka_offset BETWEEN …` filters. */
export function offsetRanges(
  records: readonly CommitRecord[],
): Array<{ topic: string; partition: number; first: bigint; last: bigint }> {
  return records
    .filter((r): r is AppendCommit => r.kind === "append")
    .map((r) => ({
      topic: r.topic,
      partition: r.partition,
      first: BigInt(r.first_offset),
      last: BigInt(r.last_offset),
    }));
}

function checkRecord(record: CommitRecord, ds: DatasetRef): void {
  if (record.layer !== ds.layer || record.dataset !== ds.name) {
    throw new CommitLogError(
      `record ${record.id} is for ${record.layer}/${record.dataset}, not ${ds.layer}/${ds.name}`,
    );
  }
  if (record.staged.length !== record.files.length) {
    throw new CommitLogError(
      `record ${record.id}: ${record.files.length} files but ${record.staged.length} staged paths`,
    );
  }
  if (record.kind === "append" && BigInt(record.last_offset) < BigInt(record.first_offset)) {
    throw new CommitLogError(
      `record ${record.id}: last_offset ${record.last_offset} < first_offset ${record.first_offset}`,
    );
  }
}

/** Parses and checks the shape of a stored record; a damaged record is an error naming its key. */
export function parseRecord(key: string, text: string): CommitRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CommitLogError(`commit record ${key} is not JSON`, { cause });
  }
  const r = value as Partial<CommitRecord>;
  const ok =
    r !== null &&
    typeof r === "object" &&
    r.v === COMMIT_LOG_VERSION &&
    typeof r.id === "string" &&
    typeof r.committed_at === "string" &&
    Array.isArray(r.files) &&
    Array.isArray(r.staged) &&
    (r.kind === "compaction"
      ? Array.isArray((r as Partial<CompactionCommit>).replaces)
      : r.kind === "append" &&
        typeof (r as Partial<AppendCommit>).first_offset === "string" &&
        typeof (r as Partial<AppendCommit>).last_offset === "string");
  if (!ok)
    throw new CommitLogError(`commit record ${key} has an unknown shape (expected v${COMMIT_LOG_VERSION})`);
  return r as CommitRecord;
}
