/**
 * What a backfill re-runs. A job that declares the data partitions it rewrites (`partitionedBy`:
 * UTC hours or days) is re-run once per partition the range touches, each over the whole partition;
 * any other job once per cron slot in the range. Runs go oldest first and, unless told to go on,
 * stop at the first that does not succeed.
 */
import type { JobDefinition } from "./job.ts";
import type { RunOutcome } from "./run.ts";
import { backfillRanges, cronFor, type SlotRange } from "./slots.ts";

export type DataPartition = "hour" | "day";
export const DATA_PARTITIONS: readonly DataPartition[] = ["hour", "day"];

export interface BackfillOutcome {
  readonly job: string;
  readonly ranges: number;
  readonly succeeded: number;
  readonly failed: number;
  /** True when a failure (or shutdown) ended the backfill before its last range. */
  readonly stoppedEarly: boolean;
  readonly outcomes: readonly RunOutcome[];
}

export interface BackfillProgress {
  readonly done: number;
  readonly total: number;
  readonly current?: { readonly from: Date; readonly to: Date };
  readonly last?: RunOutcome;
}

export interface BackfillOptions {
  readonly continueOnError?: boolean;
  readonly onProgress?: (p: BackfillProgress) => void;
}

const UNIT_MS: Record<DataPartition, number> = { hour: 3_600_000, day: 86_400_000 };

/** The runs a backfill of `job` over [from, to) makes. */
export function backfillPlan(
  job: Pick<JobDefinition, "pattern" | "partitionedBy">,
  from: Date,
  to: Date,
  maxRanges: number,
): SlotRange[] {
  return job.partitionedBy
    ? partitionRanges(from, to, job.partitionedBy, maxRanges)
    : backfillRanges(cronFor(job.pattern), from, to, maxRanges);
}

/** Every whole UTC hour or day that [from, to) touches, oldest first. */
export function partitionRanges(from: Date, to: Date, unit: DataPartition, maxRanges: number): SlotRange[] {
  if (!(from.getTime() < to.getTime())) {
    throw new RangeError(
      `backfill range is empty: from ${from.toISOString()} is not before to ${to.toISOString()}`,
    );
  }
  const size = UNIT_MS[unit];
  const first = Math.floor(from.getTime() / size) * size;
  const count = Math.ceil((to.getTime() - first) / size);
  if (count > maxRanges) {
    throw new RangeError(
      `backfill range ${from.toISOString()}..${to.toISOString()} covers ${count} ${unit}s, more than ${maxRanges}; narrow it`,
    );
  }
  return Array.from({ length: count }, (_, i) => {
    const start = new Date(first + i * size);
    return { scheduledFor: start, from: start, to: new Date(first + (i + 1) * size) };
  });
}

/** Runs the plan's ranges one at a time; `stopped()` ends it between runs (shutdown). */
export async function runBackfill(
  job: string,
  ranges: readonly SlotRange[],
  execute: (range: SlotRange) => Promise<RunOutcome>,
  stopped: () => boolean,
  options: BackfillOptions = {},
): Promise<BackfillOutcome> {
  const outcomes: RunOutcome[] = [];
  let stoppedEarly = false;
  options.onProgress?.({ done: 0, total: ranges.length, current: ranges[0] });
  for (const [i, range] of ranges.entries()) {
    if (stopped()) {
      stoppedEarly = true;
      break;
    }
    const outcome = await execute(range);
    outcomes.push(outcome);
    options.onProgress?.({ done: i + 1, total: ranges.length, current: ranges[i + 1], last: outcome });
    if (outcome.status !== "succeeded" && !options.continueOnError) {
      stoppedEarly = i + 1 < ranges.length;
      break;
    }
  }
  const succeeded = outcomes.filter((o) => o.status === "succeeded").length;
  return {
    job,
    ranges: ranges.length,
    succeeded,
    failed: outcomes.length - succeeded,
    stoppedEarly,
    outcomes,
  };
}
