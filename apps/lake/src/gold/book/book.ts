/**
 * Gold for the order book: the book of every second (top of book, depth bands, imbalance), its
 * per-minute aggregates, and checksum health per hour, from silver's book events and checkpoints.
 *
 * Incremental like market gold: the run reads silver.book's change journal after its watermark and
 * recomputes whole UTC days per symbol, one day at a time (bounded memory). A day reads the silver
 * hours from one hour before it to one hour after it: the checkpoint and events that carry the book
 * over midnight, and the next events that confirm its last seconds. So a changed hour also recomputes
 * the neighbouring day when it lies in that margin. Every row is a function of silver alone, so an
 * incremental run and a full rebuild give identical gold.
 */
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { ChangeJournal } from "../../runtime/change-journal.ts";
import { type DuckSession, sqlString } from "../../runtime/duckdb.ts";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { isRecord, loadJobState, saveJobState } from "../../runtime/job-state.ts";
import { LakeReader } from "../../runtime/lake-reader.ts";
import { publishStaged } from "../../runtime/staged-publish.ts";
import { createStaging } from "../../runtime/staging.ts";
import {
  DAY_MICROS,
  dayStart,
  HOUR_MICROS,
  type HourPartition,
  hourPartitionKey,
  SILVER,
  SILVER_BOOK_JOB,
} from "../../silver/datasets.ts";
import { BOOK_GOLD } from "../datasets.ts";
import { UNIT_MACROS } from "../market/candles.sql.ts";
import { type GoldFile, goldFileId, parseGoldFileKey, stageGoldFiles } from "../market/files.ts";
import { listPartitions } from "../market/market.ts";
import { createBook1mSql, createBook1sSql } from "./metrics.sql.ts";
import { createBookQualitySql } from "./quality.sql.ts";
import {
  createBookCheckpointsSql,
  createBookEventsSql,
  createBookSecondsSql,
  createBookStatesSql,
  createKnownBookSql,
  stepBookStatesSql,
} from "./replay.sql.ts";

export const GOLD_BOOK_JOB = "gold.book";

/** Silver hours read around a day: one before (the book carried over midnight), one after (its confirmation). */
const MARGIN = HOUR_MICROS;

interface GoldBookState {
  readonly v: 1;
  readonly watermark: number;
  readonly updatedAt: string;
}

const isGoldBookState = (value: unknown): value is GoldBookState =>
  isRecord(value) && value.v === 1 && typeof value.watermark === "number";

export interface GoldBookRunOptions {
  /** Recompute every day silver holds and delete gold book files silver no longer supports. */
  readonly rebuild?: boolean;
  /** Backfill: recompute the UTC days overlapping [from, to) for every symbol silver holds. */
  readonly range?: { readonly from: bigint; readonly to: bigint };
}

export interface GoldBookRunResult {
  readonly days: number;
  /** Rows written to gold/book_1s (known seconds). */
  readonly seconds: number;
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
  const full = opts.rebuild === true || changes.gap;
  using reader = new LakeReader(env.store, env.scratchDir);
  const days = new Map<string, Set<string>>();
  const sources = [SILVER.bookEvents, SILVER.bookQuarantine];
  if (full) for (const ds of sources) addDays(days, await listPartitions(reader, ds));
  else
    addDays(
      days,
      changes.entries.flatMap((e) =>
        e.partitions.map((p) => ({ symbol: p.symbol, hour: parseRfc3339Micros(p.hour) })),
      ),
    );
  if (opts.range) {
    const { from, to } = opts.range;
    const inRange = (p: HourPartition): boolean => p.hour + HOUR_MICROS > from && p.hour < to;
    for (const ds of sources) addDays(days, (await listPartitions(reader, ds)).filter(inRange));
  }
  let result: GoldBookRunResult = { days: 0, seconds: 0, filesPublished: 0, filesDeleted: 0, full };
  if (days.size > 0 || full) {
    checkAborted(env, "gold book: loading silver");
    using duck = await openJobDuck(env);
    for (const macro of UNIT_MACROS) await duck.run(macro);
    const written = new Set<string>();
    for (const [day, symbols] of [...days].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1))) {
      checkAborted(env, `gold book: ${day}`);
      const r = await runDay(env, duck, reader, BigInt(day), [...symbols].sort());
      for (const s of symbols) written.add(goldFileId({ symbol: s, file: isoDay(BigInt(day)) }));
      result = {
        ...result,
        days: result.days + symbols.size,
        seconds: result.seconds + r.seconds,
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
  const saved: GoldBookState = { v: 1, watermark: changes.last, updatedAt: formatMicros(clock(env)) };
  await saveJobState(env.store, GOLD_BOOK_JOB, saved);
  env.log.info("gold book run", { ...result });
  return result;
}

/** Recomputes one UTC day of the given symbols (pair form) and publishes its three files per symbol. */
async function runDay(
  env: LakeJobEnv,
  duck: DuckSession,
  reader: LakeReader,
  day: bigint,
  symbols: readonly string[],
): Promise<{ seconds: number; published: number; deleted: number }> {
  const hours: bigint[] = [];
  for (let h = day - MARGIN; h < day + DAY_MICROS + MARGIN; h += HOUR_MICROS) hours.push(h);
  const files = async (dataset: string, within: readonly bigint[]): Promise<string[]> =>
    reader.paths(
      await reader.existing(
        symbols.flatMap((symbol) => within.map((hour) => hourPartitionKey(dataset, { symbol, hour }))),
      ),
    );
  const dayHours = hours.filter((h) => h >= day && h < day + DAY_MICROS);
  const values = symbols.map((s) => `(${sqlString(s)}, ${day / 1_000_000n}::BIGINT)`).join(", ");
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE book_days AS SELECT * FROM (VALUES ${values}) t(p_symbol, day_s)`,
  );
  await duck.run(createBookEventsSql(await files(SILVER.bookEvents, hours)));
  await duck.run(createBookCheckpointsSql(await files(SILVER.bookCheckpoints, hours)));
  await duck.run(createBookSecondsSql());
  await duck.run(createBookStatesSql());
  const steps = Number((await duck.scalar("SELECT coalesce(max(k), 0)::BIGINT FROM bk_sec")) ?? 0);
  for (let k = 1; k <= steps; k++) await duck.run(stepBookStatesSql(k));
  await duck.run(createKnownBookSql());
  await duck.run(createBook1sSql());
  await duck.run(createBook1mSql());
  await duck.run(createBookQualitySql(await files(SILVER.bookQuarantine, dayHours)));
  checkAborted(env, "gold book: staging");
  const owned: GoldFile[] = symbols.map((symbol) => ({ symbol, file: isoDay(day) }));
  using staging = createStaging(env.store, GOLD_BOOK_JOB, env.scratchDir);
  const staged = [
    await stageGoldFiles(duck, staging, BOOK_GOLD.perSecond, "SELECT * FROM book_1s_new", "second", owned),
    await stageGoldFiles(duck, staging, BOOK_GOLD.perMinute, "SELECT * FROM book_1m_new", "minute", owned),
    await stageGoldFiles(duck, staging, BOOK_GOLD.quality, "SELECT * FROM book_quality_new", "hour", owned),
  ];
  let published = 0;
  let deleted = 0;
  for (const s of staged) {
    const r = await publishStaged(env.store, staging, s);
    published += r.published;
    deleted += r.deleted;
  }
  const n = await duck.scalar("SELECT count(*)::BIGINT FROM book_1s_new");
  return { seconds: Number(n ?? 0), published, deleted };
}

/** A full run owns every gold book file: those of days silver no longer holds are deleted. */
async function deleteUnsupported(
  env: LakeJobEnv,
  reader: LakeReader,
  written: ReadonlySet<string>,
): Promise<number> {
  let deleted = 0;
  for (const dataset of DATASETS) {
    for (const key of await reader.parquetKeys(`gold/${dataset}/`)) {
      const f = parseGoldFileKey(dataset, key);
      if (f && !written.has(goldFileId(f))) {
        await env.store.delete(key);
        deleted++;
      }
    }
  }
  return deleted;
}

/** Each changed hour's day, and the neighbouring day whose margin holds that hour. */
function addDays(into: Map<string, Set<string>>, partitions: readonly HourPartition[]): void {
  for (const p of partitions) {
    const day = dayStart(p.hour);
    const affected = [day];
    if (p.hour < day + MARGIN) affected.push(day - DAY_MICROS);
    if (p.hour >= day + DAY_MICROS - MARGIN) affected.push(day + DAY_MICROS);
    for (const d of affected) {
      const symbols = into.get(d.toString()) ?? new Set<string>();
      symbols.add(p.symbol);
      into.set(d.toString(), symbols);
    }
  }
}

function isoDay(micros: bigint): string {
  return formatMicros(micros).slice(0, 10);
}
