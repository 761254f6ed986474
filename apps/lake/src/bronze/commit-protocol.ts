/**
 * The bronze commit protocol for one flushed dataset (docs/exactly-once.md), as explicit steps:
 * stage (place the COPY's files in the lake's staging area) → commit record (one exclusive append per
 * topic-partition: the commit point) → publish (move the committed files into the tree) → after-
 * publish steps (pluggable, e.g. a table-format commit) → offsets (informative, to Kafka). It knows
 * nothing of Kafka: the consume loop feeds it and acts on the outcome; a crash between any two steps is
 * rolled forward or back by recovery.ts.
 */
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import {
  type AppendCommit,
  appendCommitId,
  COMMIT_LOG_VERSION,
  CommitConflictError,
  type CommitLog,
  type CommittedFile,
} from "@tributary/shared/lake/commit-log";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { nowRfc3339 } from "@tributary/shared/time";
import type { BronzeDataset } from "./datasets.ts";
import type { FaultPoint } from "./faults.ts";
import type { StagedFile } from "./stage-table.ts";
import { attemptDir, publishedFileName } from "./staging.ts";

/** One topic-partition's buffered range in this flush. */
export interface FlushedRange {
  readonly topic: string;
  readonly partition: number;
  /** `tp=` directory value of its staged files. */
  readonly dir: string;
  /** First offset (the commit record's id) and last offset of the range. */
  readonly first: bigint;
  readonly last: number;
  /** Rows buffered: the staged files must hold exactly these. */
  readonly rows: number;
}

/** Offsets to commit to the source (Kafka), `offset` = last + 1. */
export type OffsetCommit = { readonly topic: string; readonly partition: number; readonly offset: string };

/** A step run after the files are published and before the offsets are committed. */
export interface AfterPublishStep {
  readonly name: string;
  run(dataset: BronzeDataset, committed: readonly AppendCommit[]): Promise<void>;
}

export interface CommitProtocolOptions {
  readonly store: LakeStore;
  readonly commits: CommitLog;
  readonly log: Logger;
  /** Commits source offsets; failures are logged, never fatal (the lake decides where to resume). */
  readonly commitOffsets: (offsets: readonly OffsetCommit[]) => Promise<void>;
  /** Test-only fault injection at the protocol's steps. */
  readonly hit?: (point: FaultPoint) => void;
  readonly afterPublish?: readonly AfterPublishStep[];
  /** Files staged, moved or deleted at once. */
  readonly concurrency?: number;
}

export interface CommitOutcome {
  /** Records this writer committed and published. */
  readonly committed: readonly AppendCommit[];
  /** Records another writer committed first (their staged files are deleted). */
  readonly conflicts: readonly AppendCommit[];
  /** Records whose append failed for another reason, with the error. */
  readonly failed: ReadonlyArray<{ readonly record: AppendCommit; readonly error: unknown }>;
}

export class StagedRowsError extends Error {
  override readonly name = "StagedRowsError";
}

export class BronzeCommitProtocol {
  private readonly concurrency: number;

  constructor(private readonly opts: CommitProtocolOptions) {
    this.concurrency = opts.concurrency ?? 8;
  }

  /**
   * Runs every step for `files` (written by the COPY of one flush of `ds`) under the attempt id
   * `attempt`. Throws only before the commit point or when an after-publish step fails; records lost to
   * another writer or failed to append are in the outcome, for the caller to re-read from the lake.
   */
  async commit(
    ds: BronzeDataset,
    attempt: string,
    files: readonly StagedFile[],
    ranges: readonly FlushedRange[],
  ): Promise<CommitOutcome> {
    const stagingKey = attemptDir(ds, attempt);
    await this.stage(stagingKey, files);
    this.hit("after-stage");
    const records = commitRecords(ds, attempt, stagingKey, files, ranges);
    const outcome = await this.appendRecords(ds, records);
    this.hit("after-commit-record");
    await this.publish(outcome.committed);
    this.hit("after-publish");
    for (const step of this.opts.afterPublish ?? []) await step.run(ds, outcome.committed);
    await this.commitOffsets(outcome.committed);
    this.hit("after-offset-commit");
    // Local: the staging dir now holds only empty directories. On a failure it stays: committed
    // files still staged there are rolled forward by recovery.
    if (this.opts.store.kind === "local" && outcome.failed.length === 0)
      rmSync(this.opts.store.url(stagingKey), { recursive: true, force: true });
    return outcome;
  }

  /** Step 1: the COPY's files into the lake's staging area (rename on disk, upload on S3). */
  async stage(stagingKey: string, files: readonly StagedFile[]): Promise<void> {
    const { store } = this.opts;
    if (store.kind === "local") {
      const made = new Set<string>();
      for (const f of files) {
        const to = store.url(`${stagingKey}/${f.relPath}`);
        if (!made.has(dirname(to))) mkdirSync(dirname(to), { recursive: true });
        made.add(dirname(to));
        renameSync(f.localPath, to);
      }
    } else {
      await mapBounded(files, this.concurrency, (f) =>
        store.putFile(f.localPath, `${stagingKey}/${f.relPath}`),
      );
    }
  }

  /** Step 2, the commit point: one exclusive record per topic-partition. */
  async appendRecords(ds: BronzeDataset, records: readonly AppendCommit[]): Promise<CommitOutcome> {
    const outcomes = await Promise.allSettled(records.map((r) => this.opts.commits.append(ds, r)));
    const committed: AppendCommit[] = [];
    const conflicts: AppendCommit[] = [];
    const failed: { record: AppendCommit; error: unknown }[] = [];
    for (const [i, record] of records.entries()) {
      const o = outcomes[i] as PromiseSettledResult<void>;
      if (o.status === "fulfilled") committed.push(record);
      else if (o.reason instanceof CommitConflictError) conflicts.push(record);
      else failed.push({ record, error: o.reason });
    }
    for (const r of conflicts) {
      this.opts.log.warn(
        "another writer committed this range first; re-reading the partition from the lake",
        {
          record: r.id,
        },
      );
      await mapBounded(r.staged, this.concurrency, (k) => this.opts.store.delete(k));
    }
    return { committed, conflicts, failed };
  }

  /** Step 3: every committed file into the dataset's tree. */
  async publish(committed: readonly AppendCommit[]): Promise<void> {
    let moved = 0;
    await mapBounded(
      committed.flatMap((r) => r.files.map((f, i) => [r.staged[i] as string, f.path] as const)),
      this.concurrency,
      async ([from, to]) => {
        await this.opts.store.move(from, to);
        moved += 1;
        if (moved === 1) this.hit("mid-publish");
      },
    );
  }

  /** Step 5: the source's offsets, informative only (lag tools); the lake's log decides where to resume. */
  async commitOffsets(committed: readonly AppendCommit[]): Promise<void> {
    if (committed.length === 0) return;
    const offsets = committed.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: (BigInt(r.last_offset) + 1n).toString(),
    }));
    await this.opts
      .commitOffsets(offsets)
      .catch((err) => this.opts.log.debug("offset commit refused", { error: err }));
  }

  private hit(point: FaultPoint): void {
    this.opts.hit?.(point);
  }
}

/** The commit records of a flush: one per range, naming its published files; rows must match. */
export function commitRecords(
  ds: BronzeDataset,
  attempt: string,
  stagingKey: string,
  files: readonly StagedFile[],
  ranges: readonly FlushedRange[],
): AppendCommit[] {
  return ranges.map((range) => {
    const mine = files.filter((f) => f.tpDir === range.dir);
    const rows = mine.reduce((n, f) => n + f.rows, 0);
    if (rows !== range.rows)
      throw new StagedRowsError(
        `staged ${rows} rows for ${range.topic}/${range.partition} but buffered ${range.rows}`,
      );
    const committed: CommittedFile[] = mine.map((f, n) => ({
      path: `${ds.layer}/${ds.name}/${f.hivePath}/${publishedFileName(range.topic, range.partition, range.first, n)}`,
      rows: f.rows,
      bytes: f.bytes,
      partition: f.partition,
    }));
    return {
      v: COMMIT_LOG_VERSION,
      id: appendCommitId(range.topic, range.partition, range.first),
      kind: "append",
      layer: ds.layer,
      dataset: ds.name,
      topic: range.topic,
      partition: range.partition,
      first_offset: range.first.toString(),
      last_offset: String(range.last),
      rows,
      files: committed,
      committed_at: nowRfc3339(),
      writer: attempt,
      staged: mine.map((f) => `${stagingKey}/${f.relPath}`),
    };
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const item = items[i++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
