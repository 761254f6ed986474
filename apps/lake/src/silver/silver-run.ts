/**
 * The frame every silver job shares: watermark in state.json, the next bronze batch from the commit
 * log (or a backfill range), one DuckDB session and staging directory, then a change-journal entry
 * and the new watermark, saved only after every file is published.
 */
import { type CommitCursor, EMPTY_CURSOR } from "@tributary/shared/lake/commit-log";
import { hourPath } from "@tributary/shared/lake/layout";
import { formatMicros } from "@tributary/shared/time";
import { type ChangedPartition, ChangeJournal } from "../runtime/change-journal.ts";
import type { DuckSession } from "../runtime/duckdb.ts";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../runtime/env.ts";
import { isRecord, loadJobState, saveJobState } from "../runtime/job-state.ts";
import { LakeReader } from "../runtime/lake-reader.ts";
import { createStaging, type Staging } from "../runtime/staging.ts";
import { type BronzeBatch, nextBronzeBatch } from "./bronze-feed.ts";
import { HOUR_MICROS, type HourPartition, hourIso, hourStart, partitionOfKey } from "./datasets.ts";
import { bronzeSourceSql, createBronzeBatchSql } from "./trades.sql.ts";

export interface SilverState {
  readonly v: 1;
  readonly cursor: CommitCursor;
  readonly updatedAt: string;
}

export function isSilverState(value: unknown): value is SilverState {
  return isRecord(value) && value.v === 1 && isRecord(value.cursor) && isRecord(value.cursor.appends);
}

export interface SilverRunOptions {
  /** Ignore the watermark and what silver holds: rebuild every partition from all of bronze. */
  readonly rebuild?: boolean;
  /** Row budget of one incremental run (default 5,000,000); the rest waits for the next run. */
  readonly maxRows?: number;
  /** Backfill: re-read the bronze partitions of these UTC hours [from, to) and merge them again. */
  readonly range?: { readonly from: bigint; readonly to: bigint };
}

export interface MergeContext {
  readonly env: LakeJobEnv;
  readonly duck: DuckSession;
  readonly reader: LakeReader;
  readonly staging: Staging;
  readonly batch: BronzeBatch;
  readonly rebuild: boolean;
  /**
   * The batch may hold a Kafka offset twice: a backfill range or a compacted partition read while
   * bronze compaction had moved its new file in but not yet deleted the old ones.
   */
  readonly mayRepeatOffsets: boolean;
}

export interface MergeOutcome<C> {
  readonly counts: C;
  readonly changed: readonly ChangedPartition[];
}

export interface SilverJobSpec<C> {
  readonly job: string;
  readonly bronzeDataset: string;
  readonly empty: C;
  /** Parses `bronze_batch` (already loaded) and publishes the affected partitions. */
  merge(ctx: MergeContext): Promise<MergeOutcome<C>>;
}

export type SilverRunResult<C> = C & {
  readonly commits: number;
  readonly deferredCommits: number;
  readonly changeSeq: number;
};

export async function runSilverJob<C extends object>(
  env: LakeJobEnv,
  spec: SilverJobSpec<C>,
  opts: SilverRunOptions = {},
): Promise<SilverRunResult<C>> {
  const journal = new ChangeJournal(env.store, spec.job);
  const state = opts.rebuild ? undefined : await loadJobState(env.store, spec.job, isSilverState);
  using reader = new LakeReader(env.store, env.scratchDir);
  const cursor = state?.cursor ?? EMPTY_CURSOR;
  const ds = { layer: "bronze", name: spec.bronzeDataset } as const;
  const batch: BronzeBatch = opts.range
    ? {
        files: await bronzeKeysInRange(reader, spec.bronzeDataset, opts.range),
        filtered: [],
        cursor,
        commits: 0,
        rows: 0,
        deferred: 0,
      }
    : await nextBronzeBatch(env.commitLog, ds, cursor, {
        maxRows: opts.rebuild ? Number.POSITIVE_INFINITY : (opts.maxRows ?? 5_000_000),
      });
  if (batch.files.length === 0 && batch.filtered.length === 0 && !opts.rebuild) {
    if (!opts.range) await saveState(env, spec.job, batch.cursor);
    return { ...spec.empty, commits: 0, deferredCommits: batch.deferred, changeSeq: await journal.head() };
  }
  checkAborted(env, `${spec.job}: loading bronze`);
  using duck = await openJobDuck(env);
  using staging = createStaging(env.store, spec.job, env.scratchDir);
  const filtered = [];
  for (const f of batch.filtered) {
    filtered.push({ ...f, paths: await reader.paths(await reader.parquetKeys(`${f.dirKey}/`)) });
  }
  await duck.run(createBronzeBatchSql(bronzeSourceSql(await reader.paths(batch.files), filtered)));
  const outcome = await spec.merge({
    env,
    duck,
    reader,
    staging,
    batch,
    rebuild: opts.rebuild === true,
    mayRepeatOffsets: opts.range !== undefined || batch.filtered.length > 0,
  });
  const changeSeq = await journal.append(outcome.changed, formatMicros(clock(env)));
  if (!opts.range) await saveState(env, spec.job, batch.cursor);
  const result = {
    ...outcome.counts,
    commits: batch.commits,
    deferredCommits: batch.deferred,
    changeSeq,
  };
  env.log.info(`${spec.job} run`, result);
  return result;
}

async function saveState(env: LakeJobEnv, job: string, cursor: CommitCursor): Promise<void> {
  const state: SilverState = { v: 1, cursor, updatedAt: formatMicros(clock(env)) };
  await saveJobState(env.store, job, state);
}

export function changedOf(dataset: string, p: HourPartition): ChangedPartition {
  return { dataset, symbol: p.symbol, hour: hourIso(p.hour) };
}

/** Every hour partition of a silver dataset that has a file now. */
export async function listHourPartitions(reader: LakeReader, dataset: string): Promise<HourPartition[]> {
  const out: HourPartition[] = [];
  for (const key of await reader.parquetKeys(`silver/${dataset}/`)) {
    const p = partitionOfKey(key);
    if (p) out.push(p);
  }
  return out;
}

/** Bronze files of a dataset whose hour partition lies in [from, to). */
export async function bronzeKeysInRange(
  reader: LakeReader,
  dataset: string,
  range: { readonly from: bigint; readonly to: bigint },
): Promise<string[]> {
  const out: string[] = [];
  const maxHours = 24 * 366 * 5;
  let n = 0;
  for (let h = hourStart(range.from); h < range.to && n < maxHours; h += HOUR_MICROS, n++) {
    out.push(...(await reader.parquetKeys(`bronze/${dataset}/${hourPath(h)}/`)));
  }
  return out;
}
