/**
 * Replays the Tesouro sample as a live feed: each base date, oldest first, is inserted in one
 * transaction; then a few of that day's quotes are corrected (UPDATE, a price moved by a few
 * centavos) and a few earlier quotes are retracted (DELETE). Seeded, so a run is reproducible.
 */
import { seededRandom } from "@tributary/shared/random";
import type pg from "pg";
import type { TesouroRow } from "./csv.ts";
import { type TableName, tesouroQualified } from "./ddl.ts";
import { upsertTesouroRows } from "./loader.ts";

export interface FeedOptions {
  readonly client: pg.Client;
  readonly table: TableName;
  readonly rows: readonly TesouroRow[];
  readonly seed?: number;
  /** Share of each day's rows corrected afterwards. */
  readonly correctionRate?: number;
  /** Share of each day's rows whose earlier quote (an older base date) is retracted. */
  readonly deleteRate?: number;
  readonly delayMs?: number;
  readonly maxDates?: number;
  readonly signal?: AbortSignal;
  readonly onDay?: (day: FeedDay) => void;
}

export interface FeedDay {
  readonly baseDate: string;
  readonly inserted: number;
  readonly corrected: number;
  readonly deleted: number;
}

export interface FeedSummary {
  readonly dates: number;
  readonly inserted: number;
  readonly corrected: number;
  readonly deleted: number;
}

export function groupByBaseDate(rows: readonly TesouroRow[]): [string, TesouroRow[]][] {
  const days = new Map<string, TesouroRow[]>();
  for (const r of rows) {
    const list = days.get(r.base_date);
    if (list) list.push(r);
    else days.set(r.base_date, [r]);
  }
  return [...days].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function pick<T>(items: readonly T[], share: number, random: () => number): T[] {
  return items.filter(() => random() < share);
}

export async function replayTesouroFeed(opts: FeedOptions): Promise<FeedSummary> {
  const random = seededRandom(opts.seed ?? 42);
  const table = tesouroQualified(opts.table);
  const days = groupByBaseDate(opts.rows).slice(0, opts.maxDates ?? Number.POSITIVE_INFINITY);
  const earlier: TesouroRow[] = [];
  let inserted = 0;
  let corrected = 0;
  let deleted = 0;
  let dates = 0;
  for (const [baseDate, rows] of days) {
    if (opts.signal?.aborted) break;
    await opts.client.query("BEGIN");
    try {
      inserted += await upsertTesouroRows(opts.client, opts.table, rows);
      await opts.client.query("COMMIT");
    } catch (err) {
      await opts.client.query("ROLLBACK");
      throw err;
    }
    let dayCorrected = 0;
    const corrections = pick(rows, opts.correctionRate ?? 0.05, random);
    if (corrections.length > 0) {
      await opts.client.query("BEGIN");
      for (const r of corrections) {
        const cents = (1 + Math.floor(random() * 5)) * (random() < 0.5 ? -1 : 1);
        const res = await opts.client.query(
          `UPDATE ${table} SET buy_price = buy_price + $4::numeric / 100, sell_price = sell_price + $4::numeric / 100,
             base_price = base_price + $4::numeric / 100
           WHERE bond_type = $1 AND maturity_date = $2::date AND base_date = $3::date`,
          [r.bond_type, r.maturity_date, r.base_date, cents],
        );
        dayCorrected += res.rowCount ?? 0;
      }
      await opts.client.query("COMMIT");
    }
    let dayDeleted = 0;
    const retractions = pick(earlier.length > 0 ? rows : [], opts.deleteRate ?? 0.01, random);
    for (const _ of retractions) {
      const victim = earlier.splice(Math.floor(random() * earlier.length), 1)[0];
      if (!victim) break;
      const res = await opts.client.query(
        `DELETE FROM ${table} WHERE bond_type = $1 AND maturity_date = $2::date AND base_date = $3::date`,
        [victim.bond_type, victim.maturity_date, victim.base_date],
      );
      dayDeleted += res.rowCount ?? 0;
    }
    earlier.push(...rows);
    corrected += dayCorrected;
    deleted += dayDeleted;
    dates++;
    opts.onDay?.({ baseDate, inserted: rows.length, corrected: dayCorrected, deleted: dayDeleted });
    if (opts.delayMs) await Bun.sleep(opts.delayMs);
  }
  return { dates, inserted, corrected, deleted };
}
