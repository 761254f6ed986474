/**
 * Cron slots (croner, always UTC): the next slot, the slots missed during downtime, and the ranges a
 * backfill walks. Slots are whole seconds; croner strips milliseconds.
 */
import { Cron } from "croner";

export class CronPatternError extends Error {
  override readonly name = "CronPatternError";
}

/** A paused croner instance used only to compute times (the scheduler drives its own timer). */
export function cronFor(pattern: string): Cron {
  try {
    return new Cron(pattern, { timezone: "UTC", paused: true, mode: "5-or-6-parts" });
  } catch (err) {
    throw new CronPatternError(`invalid cron pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** The first slot strictly after `after`. */
export function nextSlot(cron: Cron, after: Date): Date | undefined {
  return cron.nextRun(after) ?? undefined;
}

/**
 * Slots in (after, now], oldest first, at most `limit` of them (the newest ones); `more` says older
 * missed slots were left out (they need a backfill).
 */
export function missedSlots(
  cron: Cron,
  after: Date,
  now: Date,
  limit: number,
): { slots: Date[]; more: boolean } {
  const recent = cron
    .previousRuns(limit + 1, new Date(now.getTime() + 1))
    .filter((d) => d.getTime() > after.getTime());
  recent.reverse();
  const more = recent.length > limit;
  return { slots: more ? recent.slice(1) : recent, more };
}

export interface SlotRange {
  readonly scheduledFor: Date;
  readonly from: Date;
  readonly to: Date;
}

/**
 * Splits [from, to) at the job's slots: the first range starts at `from`, every later one at a slot,
 * the last ends at `to`; together they cover [from, to) exactly once.
 */
export function backfillRanges(cron: Cron, from: Date, to: Date, maxRanges: number): SlotRange[] {
  if (!(from.getTime() < to.getTime())) {
    throw new RangeError(
      `backfill range is empty: from ${from.toISOString()} is not before to ${to.toISOString()}`,
    );
  }
  const bounds: Date[] = [from];
  let cursor: Date | null = cron.nextRun(from);
  while (cursor && cursor.getTime() < to.getTime()) {
    if (bounds.length > maxRanges) {
      throw new RangeError(
        `backfill range ${from.toISOString()}..${to.toISOString()} has more than ${maxRanges} slots; narrow it`,
      );
    }
    bounds.push(cursor);
    cursor = cron.nextRun(cursor);
  }
  bounds.push(to);
  const ranges: SlotRange[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i] as Date;
    const b = bounds[i + 1] as Date;
    ranges.push({ scheduledFor: a, from: a, to: b });
  }
  return ranges;
}
