/**
 * One UTC day of a gold book run: replays the day's recomputed hours (hours.ts) from the silver hours
 * of their windows, merges them with the rows the day files keep (day-files.sql.ts) and publishes the
 * three files per symbol. What it reads is bounded by the hours, never by the day: an incremental run
 * after one changed hour reads five silver hours of events and four of checkpoints.
 */
import { type DuckSession, sqlString } from "../../runtime/duckdb.ts";
import { checkAborted, type LakeJobEnv } from "../../runtime/env.ts";
import type { SnapshotReader } from "../../runtime/snapshot-reader.ts";
import { publishStaged } from "../../runtime/staged-publish.ts";
import type { Staging } from "../../runtime/staging.ts";
import { hourPartitionKey, SILVER } from "../../silver/datasets.ts";
import { BOOK_GOLD } from "../datasets.ts";
import { type GoldFile, goldFileId, goldFileKey, stageGoldFiles } from "../market/files.ts";
import { createBook1mDaySql, createBook1sDaySql, createBookQualityDaySql } from "./day-files.sql.ts";
import { type BookHour, isoDay, windowPartitions } from "./hours.ts";
import { createBook1mSql, createBook1sSql } from "./metrics.sql.ts";
import { createBookQualitySql } from "./quality.sql.ts";
import {
  createBookCheckpointsSql,
  createBookEventsSql,
  createBookHoursSql,
  createBookSecondsSql,
  createBookSpansSql,
  createBookStatesSql,
  createBookWindowsSql,
  createCheckpointBooksSql,
  createKnownBookSql,
  stepBookStatesSql,
} from "./replay.sql.ts";

export interface BookDayResult {
  /** Symbol-hours recomputed whole. */
  readonly hours: number;
  /** Symbol-hours of which only the first or last seconds were recomputed (the neighbours of a change). */
  readonly edgeHours: number;
  /** Rows replayed into gold/book_1s (known seconds). */
  readonly seconds: number;
  /** Silver files read (events, checkpoints, quarantine). */
  readonly silverFiles: number;
  readonly published: number;
  readonly deleted: number;
}

/** Recomputes `hours` (all in the UTC day `day`); a full run (`full`) keeps nothing of the old files. */
export async function runBookDay(
  env: LakeJobEnv,
  duck: DuckSession,
  reader: SnapshotReader,
  staging: Staging,
  day: bigint,
  hours: readonly BookHour[],
  full: boolean,
): Promise<BookDayResult> {
  const symbols = [...new Set(hours.map((h) => h.symbol))].sort();
  const owned: GoldFile[] = symbols.map((symbol) => ({ symbol, file: isoDay(day) }));
  const existing = async (dataset: string): Promise<GoldFile[]> => {
    if (full) return [];
    const keys = new Set(await reader.existing(owned.map((f) => goldFileKey(dataset, f))));
    return owned.filter((f) => keys.has(goldFileKey(dataset, f)));
  };
  const kept = {
    perSecond: await existing(BOOK_GOLD.perSecond),
    perMinute: await existing(BOOK_GOLD.perMinute),
    quality: await existing(BOOK_GOLD.quality),
  };
  const paths = (dataset: string, files: readonly GoldFile[]): Promise<string[]> =>
    reader.paths(files.map((f) => goldFileKey(dataset, f)));
  // An edge hour keeps the rest of its seconds from the day file: without one, it is recomputed whole.
  const withSeconds = new Set(kept.perSecond.map((f) => f.symbol));
  const todo = hours.map((h): BookHour => (withSeconds.has(h.symbol) ? h : { ...h, kind: "whole" }));

  let silverFiles = 0;
  const silver = async (dataset: string, before: number, after: number): Promise<string[]> => {
    const keys = windowPartitions(todo, before, after).map((p) => hourPartitionKey(dataset, p));
    const found = await reader.existing(keys);
    silverFiles += found.length;
    return reader.paths(found);
  };
  const values = todo.map((h) => `(${sqlString(h.symbol)}, ${h.hour}::BIGINT, ${sqlString(h.kind)})`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE book_hour_list AS
SELECT * FROM (VALUES ${values.join(", ")}) t(p_symbol, t_us, kind)`);
  await duck.run(createBookEventsSql(await silver(SILVER.bookEvents, 1, 1)));
  await duck.run(createBookWindowsSql());
  await duck.run(createCheckpointBooksSql(await silver(SILVER.bookCheckpoints, 1, 0)));
  await duck.run(createBookHoursSql());
  await duck.run(createBookCheckpointsSql());
  await duck.run(createBookSecondsSql());
  await duck.run(createBookStatesSql());
  const steps = Number((await duck.scalar("SELECT coalesce(max(k), 0)::BIGINT FROM bk_sec")) ?? 0);
  for (let k = 1; k <= steps; k++) await duck.run(stepBookStatesSql(k));
  await duck.run(createBookSpansSql());
  await duck.run(createKnownBookSql());
  await duck.run(createBook1sSql());
  await duck.run(createBook1sDaySql(await paths(BOOK_GOLD.perSecond, kept.perSecond)));
  await duck.run(createBook1mSql());
  await duck.run(createBook1mDaySql(await paths(BOOK_GOLD.perMinute, kept.perMinute)));
  await duck.run(createBookQualitySql(await silver(SILVER.bookQuarantine, 0, 0)));
  await duck.run(createBookQualityDaySql(await paths(BOOK_GOLD.quality, kept.quality)));

  checkAborted(env, "gold book: staging");
  const staged = [
    await stageGoldFiles(duck, staging, BOOK_GOLD.perSecond, "SELECT * FROM book_1s_day", "second", owned),
    await stageGoldFiles(duck, staging, BOOK_GOLD.perMinute, "SELECT * FROM book_1m_day", "minute", owned),
    await stageGoldFiles(duck, staging, BOOK_GOLD.quality, "SELECT * FROM book_quality_day", "hour", owned),
  ];
  const { published, deleted } = await publishStaged(env, staging, staged, {
    summary: await reader.snapshotsRead(),
  });
  const [n = {}] = await duck.rows(`SELECT
  (SELECT count(*) FROM book_hours WHERE from_s = t_us // 1000000 AND to_s = t_us // 1000000 + 3600)::BIGINT AS whole,
  (SELECT count(*) FROM book_hours)::BIGINT AS hours, (SELECT count(*) FROM book_1s_new)::BIGINT AS seconds`);
  return {
    hours: Number(n.whole ?? 0),
    edgeHours: Number(n.hours ?? 0) - Number(n.whole ?? 0),
    seconds: Number(n.seconds ?? 0),
    silverFiles,
    published,
    deleted,
  };
}

/** Ids of the files a day run owns (a full run deletes every other gold book file). */
export function ownedIds(day: bigint, hours: readonly BookHour[]): string[] {
  return [...new Set(hours.map((h) => goldFileId({ symbol: h.symbol, file: isoDay(day) })))];
}
