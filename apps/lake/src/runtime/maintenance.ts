/**
 * Hourly upkeep of the market layers: prunes change-journal entries every consumer has read, and
 * removes staging directories left by crashed runs. Silver and gold need no file compaction: each
 * partition (silver) or day/month (gold) is always exactly one file.
 */
import { ChangeJournal } from "./change-journal.ts";
import type { LakeJobEnv } from "./env.ts";
import { isRecord, loadJobState } from "./job-state.ts";
import { sweepStaging } from "./staging.ts";

export interface JournalConsumer {
  readonly job: string;
  /** The consumer's watermark for `producer` from its state, or undefined if it never ran. */
  readonly watermark: (state: Record<string, unknown>, producer: string) => number | undefined;
}

export interface MaintenanceResult {
  readonly journalEntriesPruned: number;
  readonly stagingDirsRemoved: number;
}

/** Watermark readers for the two state shapes consumers use. */
export const byWatermarksMap: JournalConsumer["watermark"] = (state, producer) => {
  const w = isRecord(state.watermarks) ? state.watermarks[producer] : undefined;
  return typeof w === "number" ? w : undefined;
};
export const bySingleWatermark: JournalConsumer["watermark"] = (state) =>
  typeof state.watermark === "number" ? state.watermark : undefined;

export async function maintainMarketLayers(
  env: LakeJobEnv,
  journals: Readonly<Record<string, readonly JournalConsumer[]>>,
  stagingJobs: readonly string[],
  stagingMaxAgeMs = 3_600_000,
): Promise<MaintenanceResult> {
  let pruned = 0;
  for (const [producer, consumers] of Object.entries(journals)) {
    const marks: number[] = [];
    for (const c of consumers) {
      const state = await loadJobState(env.store, c.job, isRecord);
      const mark = state ? c.watermark(state, producer) : undefined;
      marks.push(mark ?? 0); // a consumer that never ran holds everything back
    }
    const upTo = marks.length === 0 ? 0 : Math.min(...marks);
    if (upTo > 0) pruned += await new ChangeJournal(env.store, producer).prune(upTo);
  }
  let removed = 0;
  for (const job of stagingJobs) removed += sweepStaging(env.store, job, env.scratchDir, stagingMaxAgeMs);
  return { journalEntriesPruned: pruned, stagingDirsRemoved: removed };
}
