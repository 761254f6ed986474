/**
 * Gold for the order book: the book of every second (top of book, depth bands, imbalance), its
 * per-minute aggregates, and checksum health per hour, from silver's book events and checkpoints.
 *
 * Incremental by the hour, so a run costs what changed, not whole days. The run reads silver.book's
 * change journal after its watermark. An hour's rows are a function of the silver hours before, of
 * and after it alone (its window: the checkpoint and events that carry the book into the hour, its
 * own events, the next events that confirm its last seconds; replay.sql.ts). So a changed silver hour
 * is replayed whole, and of its neighbours only the edge it reaches (hours.ts): the next hour up to
 * its first checkpoints, the hour before from its last events on. Such a run reads five silver hours
 * of events and four of checkpoints whatever the day holds. Files stay one per symbol and UTC day:
 * the rows of the hours not replayed are kept from the day's file (day-files.sql.ts), one day at a
 * time (bounded memory). Since no row depends on what a run happened to read, an incremental run and
 * a full rebuild give identical gold; files written by the whole-day design (state v1) are rebuilt
 * once.
 */
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { ChangeJournal } from "../../runtime/change-journal.ts";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { isRecord, loadJobState, saveJobState } from "../../runtime/job-state.ts";
import type { LakeReader } from "../../runtime/lake-reader.ts";
import { snapshotReader } from "../../runtime/snapshot-reader.ts";
import { publishStaged } from "../../runtime/staged-publish.ts";
import { createStaging } from "../../runtime/staging.ts";
import {
  HOUR_MICROS,
  type HourPartition,
  partitionsOfKeys,
  SILVER,
  SILVER_BOOK_JOB,
} from "../../silver/datasets.ts";
import { BOOK_GOLD } from "../datasets.ts";
import { UNIT_MACROS } from "../market/candles.sql.ts";
import { goldFileId, parseGoldFileKey } from "../market/files.ts";
import { listPartitions } from "../market/market.ts";
import { ownedIds, runBookDay } from "./day.ts";
import { bookHoursByDay, bookHoursOf } from "./hours.ts";

export const GOLD_BOOK_JOB = "gold.book";

/** v2: files hold hours recomputed from their windows; v1 (whole days) files are rebuilt once. */
interface GoldBookState {
  readonly v: 1 | 2;
  readonly watermark: number;
  /** `tributary.read.silver.<dataset>` → the silver snapshot the last run read (absent before it did). */
  readonly read?: Readonly<Record<string, string>>;
  readonly updatedAt: string;
}

const isGoldBookState = (value: unknown): value is GoldBookState =>
  isRecord(value) &&
  (value.v === 1 || value.v === 2) &&
  typeof value.watermark === "number" &&
  (value.read === undefined || isRecord(value.read));

export interface GoldBookRunOptions {
  /** Recompute every hour silver holds and delete gold book files silver no longer supports. */
  readonly rebuild?: boolean;
  /** Backfill: recompute as if every silver hour overlapping [from, to) had changed. */
  readonly range?: { readonly from: bigint; readonly to: bigint };
}

export interface GoldBookRunResult {
  /** Symbol-days whose files were rewritten. */
  readonly days: number;
  /** Symbol-hours recomputed whole. */
  readonly hours: number;
  /** Symbol-hours of which only the first or last seconds were recomputed (the neighbours of a change). */
  readonly edgeHours: number;
  /** Rows replayed into gold/book_1s (known seconds). */
  readonly seconds: number;
  /** Silver files read. */
  readonly silverFiles: number;
  readonly filesPublished: number;
  readonly filesDeleted: number;
  readonly full: boolean;
}

const DATASETS = [BOOK_GOLD.perSecond, BOOK_GOLD.perMinute, BOOK_GOLD.quality] as const;

export async function runGoldBook(
  env: LakeJobEnv,
  opts: GoldBookRunOptions = {},
): Promise<GoldBookRunResult> {
  const state = opts.rebuild ? undefined : await loadJobState(env.store, GOLD_BOOK_JOB, isGoldBookState);
  const changes = await new ChangeJournal(env.store, SILVER_BOOK_JOB).since(state?.watermark ?? 0);
  // No state (a new lake, or deleted to rebuild) or one of the whole-day design: nothing to keep.
  const full = opts.rebuild === true || changes.gap || state?.v !== 2;
  using reader = snapshotReader(env, ["silver"]);
  const sources = [SILVER.bookEvents, SILVER.bookQuarantine];
  const changed: HourPartition[] = [];
  if (full) for (const ds of sources) for (const p of await listPartitions(reader, ds)) changed.push(p);
  else {
    for (const e of changes.entries)
      for (const p of e.partitions) changed.push({ symbol: p.symbol, hour: parseRfc3339Micros(p.hour) });
    // Silver appends its journal entry after its snapshot commit: the snapshot's own changes are added.
    changed.push(...partitionsOfKeys(await reader.changedSinceRead(state?.read, "silver", sources, env.log)));
  }
  if (opts.range) {
    const { from, to } = opts.range;
    const inRange = (p: HourPartition): boolean => p.hour + HOUR_MICROS > from && p.hour < to;
    for (const ds of sources)
      for (const p of await listPartitions(reader, ds)) if (inRange(p)) changed.push(p);
  }
  const days = bookHoursByDay(bookHoursOf(changed, full));
  let result: GoldBookRunResult = {
    days: 0,
    hours: 0,
    edgeHours: 0,
    seconds: 0,
    silverFiles: 0,
    filesPublished: 0,
    filesDeleted: 0,
    full,
  };
  if (days.length > 0 || full) {
    checkAborted(env, "gold book: loading silver");
    using duck = await openJobDuck(env);
    for (const macro of UNIT_MACROS) await duck.run(macro);
    const written = new Set<string>();
    for (const [day, hours] of days) {
      checkAborted(env, `gold book: ${formatMicros(day).slice(0, 10)}`);
      using staging = createStaging(env.store, GOLD_BOOK_JOB, env.scratchDir);
      const r = await runBookDay(env, duck, reader, staging, day, hours, full);
      const ids = ownedIds(day, hours);
      for (const id of ids) written.add(id);
      result = {
        ...result,
        days: result.days + ids.length,
        hours: result.hours + r.hours,
        edgeHours: result.edgeHours + r.edgeHours,
        seconds: result.seconds + r.seconds,
        silverFiles: result.silverFiles + r.silverFiles,
        filesPublished: result.filesPublished + r.published,
        filesDeleted: result.filesDeleted + r.deleted,
      };
    }
    if (full)
      result = {
        ...result,
        filesDeleted: result.filesDeleted + (await deleteUnsupported(env, reader, written)),
      };
  }
  const saved: GoldBookState = {
    v: 2,
    watermark: changes.last,
    read: { ...state?.read, ...(await reader.snapshotsRead()) },
    updatedAt: formatMicros(clock(env)),
  };
  await saveJobState(env.store, GOLD_BOOK_JOB, saved);
  env.log.info("gold book run", { ...result });
  return result;
}

/** A full run owns every gold book file: those of days silver no longer holds are deleted. */
async function deleteUnsupported(
  env: LakeJobEnv,
  reader: LakeReader,
  written: ReadonlySet<string>,
): Promise<number> {
  const keys: string[] = [];
  for (const dataset of DATASETS) {
    for (const key of await reader.parquetKeys(`gold/${dataset}/`)) {
      const f = parseGoldFileKey(dataset, key);
      if (f && !written.has(goldFileId(f))) keys.push(key);
    }
  }
  // Through the staged publish, so the datasets' Iceberg tables lose the files too.
  using staging = createStaging(env.store, GOLD_BOOK_JOB, env.scratchDir);
  return (await publishStaged(env, staging, [], { remove: keys })).deleted;
}
