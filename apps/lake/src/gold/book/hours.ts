/**
 * Which hours a gold book run recomputes. An hour's rows are a function of the silver hours before,
 * of and after it (its window: the book carried in from the last checkpoint before it, and the next
 * events that confirm its last seconds), so a changed silver hour recomputes three: itself whole, and
 * of its neighbours only the edge it reaches (replay.sql.ts `createBookHoursSql`): the hour after up
 * to its first checkpoints (the book it carries in), the hour before from its last events on (the
 * seconds it confirms). An hour that is both edges, or changed itself, is recomputed whole.
 */
import { formatMicros } from "@tributary/shared/time";
import { dayStart, HOUR_MICROS, type HourPartition } from "../../silver/datasets.ts";

/**
 * How much of an hour is recomputed: all of it, only its first seconds (`carry`: the hour before
 * changed) or only its last seconds (`confirm`: the hour after changed).
 */
export type BookHourKind = "whole" | "carry" | "confirm";

/** One symbol-hour to recompute. */
export interface BookHour {
  /** Pair form, as silver partitions it (`BTC_USD`). */
  readonly symbol: string;
  /** Start of the UTC hour, epoch microseconds. */
  readonly hour: bigint;
  readonly kind: BookHourKind;
}

/** The hours changed silver partitions affect; with `wholeOnly` (a full run) every one whole. */
export function bookHoursOf(changed: readonly HourPartition[], wholeOnly: boolean): BookHour[] {
  const hours = new Map<string, BookHour>();
  const add = (symbol: string, hour: bigint, kind: BookHourKind): void => {
    const id = `${symbol}|${hour}`;
    const had = hours.get(id)?.kind;
    hours.set(id, { symbol, hour, kind: wholeOnly || (had !== undefined && had !== kind) ? "whole" : kind });
  };
  for (const p of changed) {
    add(p.symbol, p.hour - HOUR_MICROS, "confirm");
    add(p.symbol, p.hour, "whole");
    add(p.symbol, p.hour + HOUR_MICROS, "carry");
  }
  return [...hours.values()].sort((a, b) =>
    a.hour !== b.hour ? (a.hour < b.hour ? -1 : 1) : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0,
  );
}

/** The hours grouped by UTC day (each day's files are written once), days in order. */
export function bookHoursByDay(hours: readonly BookHour[]): [bigint, BookHour[]][] {
  const days = new Map<bigint, BookHour[]>();
  for (const h of hours) {
    const day = dayStart(h.hour);
    const list = days.get(day);
    if (list) list.push(h);
    else days.set(day, [h]);
  }
  return [...days].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Silver hours a set of recomputed hours reads, per symbol: `before` and `after` hours around each. */
export function windowPartitions(hours: readonly BookHour[], before: number, after: number): HourPartition[] {
  const out = new Map<string, HourPartition>();
  for (const h of hours)
    for (let i = -before; i <= after; i++) {
      const p = { symbol: h.symbol, hour: h.hour + BigInt(i) * HOUR_MICROS };
      out.set(`${p.symbol}|${p.hour}`, p);
    }
  return [...out.values()];
}

/** A day's gold file id (`2024-05-01`). */
export function isoDay(day: bigint): string {
  return formatMicros(day).slice(0, 10);
}
