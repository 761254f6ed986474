/**
 * The contract every scheduled job implements (silver, gold, CSV export, compaction, notebooks).
 * The scheduler (croner, UTC) owns timing, overlap prevention, timeouts, retries, catch-up and
 * run history; a job only does its work for the slot it is given.
 */
import type { Logger } from "../log.ts";

export interface JobContext {
  /** Aborted on timeout or shutdown: long work must check it. */
  readonly signal: AbortSignal;
  /** The cron slot this run is for (UTC). For a manual run, the time it was triggered. */
  readonly scheduledFor: Date;
  /** Set for backfills: the UTC range [from, to) the run must (re)process. */
  readonly range?: { readonly from: Date; readonly to: Date };
  readonly log: Logger;
  /** Reports progress for progress bars and the console. */
  readonly progress: (done: number, total?: number, note?: string) => void;
}

export interface JobResult {
  /** Rows written or processed, for the run history. */
  readonly rows?: number;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface JobDefinition {
  /** Unique, stable name: `silver.trades`, `gold.candles`, `export.csv`, `notebooks.refresh`. */
  readonly name: string;
  /** croner pattern, seconds allowed (6 fields), always UTC. */
  readonly pattern: string;
  readonly description: string;
  readonly timeoutMs: number;
  /** Bounded retries with capped exponential backoff; default 0. */
  readonly retries?: number;
  /** Run missed slots after downtime (default false: only the latest missed slot runs). */
  readonly catchUp?: boolean;
  /** Jobs that must have succeeded in this tick before this one runs (e.g. gold after silver). */
  readonly after?: readonly string[];
  /**
   * The UTC data partitions a run over `range` rewrites: a backfill then runs once per hour or day
   * the range touches instead of once per cron slot.
   */
  readonly partitionedBy?: "hour" | "day";
  run(ctx: JobContext): Promise<JobResult>;
}

/** Errors a retry cannot fix (bad config, bad SQL): the scheduler does not retry them. */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
}
