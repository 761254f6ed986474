/**
 * Gold for market data: candles (1m, 5m, 15m, 1h, 1d), daily summary, candle reconciliation with
 * Kraken's OHLC, hourly data quality (from silver trades) and 1-minute market metrics (from silver
 * ticker).
 *
 * Incremental: the run reads the silver change journals after its watermarks and recomputes whole
 * UTC days per symbol (plus, for each, the next day that holds trades, whose first trade_id gap
 * depends on the day before). Every output row is a function of silver alone, so an incremental run
 * and a full rebuild give identical gold.
 */

import { dayPartitionPath, pairOfSymbolSql, pairPath } from "@tributary/shared/lake/layout";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { type ChangeEntry, ChangeJournal, type ChangesSince } from "../../runtime/change-journal.ts";
import { type DuckSession, sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { isRecord, loadJobState, saveJobState } from "../../runtime/job-state.ts";
import type { LakeReader } from "../../runtime/lake-reader.ts";
import { type SnapshotReader, snapshotReader } from "../../runtime/snapshot-reader.ts";
import { publishStaged, type StagedFiles } from "../../runtime/staged-publish.ts";
import { createStaging, type Staging } from "../../runtime/staging.ts";
import {
  dayStart,
  type HourPartition,
  KRAKEN_OHLC_JOB,
  partitionOfKey,
  partitionsOfKeys,
  SILVER,
  SILVER_TICKER_JOB,
  SILVER_TRADES_JOB,
} from "../../silver/datasets.ts";
import { GOLD } from "../datasets.ts";
import {
  CANDLE_INTERVALS,
  candleSelect,
  createGoldTradesSql,
  createMinuteAggregatesSql,
  createRollupSql,
  UNIT_MACROS,
} from "./candles.sql.ts";
import { type GoldFile, goldFileId, goldFileKey, parseGoldFileKey, stageGoldFiles } from "./files.ts";
import { createMarketMetricsSql } from "./metrics.sql.ts";
import {
  createDuplicateCountsSql,
  createPrevLastSql,
  createQualitySql,
  createQuarantineCountsSql,
  createTradeQualitySql,
} from "./quality.sql.ts";
import { createReconciliationSql } from "./reconciliation.sql.ts";
import { createDailySummarySql } from "./summary.sql.ts";

export const GOLD_MARKET_JOB = "gold.market";

/** The journals gold consumes, by producer job. */
const SOURCES = [SILVER_TRADES_JOB, SILVER_TICKER_JOB, KRAKEN_OHLC_JOB] as const;

export interface GoldState {
  readonly v: 1;
  readonly watermarks: Readonly<Record<string, number>>;
  /** `tributary.read.silver.<dataset>` → the silver snapshot the last run read (absent before it did). */
  readonly read?: Readonly<Record<string, string>>;
  readonly updatedAt: string;
}

function isGoldState(value: unknown): value is GoldState {
  return (
    isRecord(value) &&
    value.v === 1 &&
    isRecord(value.watermarks) &&
    (value.read === undefined || isRecord(value.read))
  );
}

export interface GoldRunOptions {
  /** Grace after an hour closes before a trade counts as a late arrival (config.export.graceMinutes). */
  readonly graceMinutes: number;
  /** Recompute every day of every symbol and delete gold files silver no longer supports. */
  readonly rebuild?: boolean;
  /** Backfill: recompute the UTC days overlapping [from, to) for every symbol silver holds. */
  readonly range?: { readonly from: bigint; readonly to: bigint };
}

export interface GoldRunResult {
  readonly tradeDays: number;
  readonly tickerDays: number;
  readonly trades: number;
  readonly filesPublished: number;
  readonly filesDeleted: number;
  readonly full: boolean;
}

interface SymbolDay {
  readonly symbol: string;
  readonly day: bigint;
}

const dayId = (d: SymbolDay): string => `${d.symbol}|${d.day}`;

export async function runGoldMarket(env: LakeJobEnv, opts: GoldRunOptions): Promise<GoldRunResult> {
  const state = opts.rebuild ? undefined : await loadJobState(env.store, GOLD_MARKET_JOB, isGoldState);
  const changes = new Map<string, ChangesSince>();
  for (const producer of SOURCES) {
    changes.set(
      producer,
      await new ChangeJournal(env.store, producer).since(state?.watermarks[producer] ?? 0),
    );
  }
  const trades = changes.get(SILVER_TRADES_JOB) as ChangesSince;
  const ticker = changes.get(SILVER_TICKER_JOB) as ChangesSince;
  const ohlc = changes.get(KRAKEN_OHLC_JOB) as ChangesSince;
  const fullTrades = opts.rebuild === true || trades.gap || ohlc.gap;
  const fullTicker = opts.rebuild === true || ticker.gap;
  using reader = snapshotReader(env, ["silver"]);
  const tradeDays = new Map<string, SymbolDay>();
  const tickerDays = new Map<string, SymbolDay>();
  const tradeDatasets = [SILVER.trades, SILVER.tradeDuplicates, SILVER.tradeQuarantine, SILVER.krakenOhlc];
  if (fullTrades) {
    for (const ds of tradeDatasets) addDays(tradeDays, await listPartitions(reader, ds));
  } else {
    addDays(tradeDays, changedPartitions([...trades.entries, ...ohlc.entries]));
    // Silver appends its journal entry after its snapshot commit: a run can read a snapshot whose
    // entry it has not seen yet, so the snapshot's own file changes are added.
    addDays(
      tradeDays,
      partitionsOfKeys(await reader.changedSinceRead(state?.read, "silver", tradeDatasets, env.log)),
    );
  }
  if (fullTicker) addDays(tickerDays, await listPartitions(reader, SILVER.ticker));
  else {
    addDays(tickerDays, changedPartitions(ticker.entries));
    addDays(
      tickerDays,
      partitionsOfKeys(await reader.changedSinceRead(state?.read, "silver", [SILVER.ticker], env.log)),
    );
  }
  if (opts.range) {
    const { from, to } = opts.range;
    const inRange = (p: HourPartition): boolean => p.hour + 3_600_000_000n > from && p.hour < to;
    for (const ds of tradeDatasets) addDays(tradeDays, (await listPartitions(reader, ds)).filter(inRange));
    addDays(tickerDays, (await listPartitions(reader, SILVER.ticker)).filter(inRange));
  }
  const watermarks = Object.fromEntries(SOURCES.map((p) => [p, (changes.get(p) as ChangesSince).last]));
  if (tradeDays.size === 0 && tickerDays.size === 0 && !opts.rebuild) {
    await saveGoldState(env, watermarks, { ...state?.read, ...(await reader.snapshotsRead()) });
    return { tradeDays: 0, tickerDays: 0, trades: 0, filesPublished: 0, filesDeleted: 0, full: false };
  }
  checkAborted(env, "gold: loading silver");
  using duck = await openJobDuck(env);
  using staging = createStaging(env.store, GOLD_MARKET_JOB, env.scratchDir);
  for (const macro of UNIT_MACROS) await duck.run(macro);
  const run = new GoldRun(env, duck, reader, staging, opts, fullTrades, fullTicker);
  const result = await run.execute([...tradeDays.values()], [...tickerDays.values()]);
  await saveGoldState(env, watermarks, { ...state?.read, ...(await reader.snapshotsRead()) });
  env.log.info("gold market run", { ...result });
  return result;
}

async function saveGoldState(
  env: LakeJobEnv,
  watermarks: Record<string, number>,
  read: Record<string, string>,
): Promise<void> {
  const state: GoldState = { v: 1, watermarks, read, updatedAt: formatMicros(clock(env)) };
  await saveJobState(env.store, GOLD_MARKET_JOB, state);
}

class GoldRun {
  private readonly staged: StagedFiles<GoldFile>[] = [];

  constructor(
    private readonly env: LakeJobEnv,
    private readonly duck: DuckSession,
    private readonly reader: SnapshotReader,
    private readonly staging: Staging,
    private readonly opts: GoldRunOptions,
    private readonly fullTrades: boolean,
    private readonly fullTicker: boolean,
  ) {}

  async execute(tradeDaysIn: readonly SymbolDay[], tickerDays: readonly SymbolDay[]): Promise<GoldRunResult> {
    const { duck } = this;
    // Existing daily candles of the touched symbols: next days with trades and earlier trade_ids.
    const symbols = [...new Set(tradeDaysIn.map((d) => d.symbol))];
    const oldDaily = this.fullTrades ? [] : await this.existingFiles(GOLD.candles["1d"], symbols);
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE daily_old AS SELECT * FROM ${await this.scanOr(oldDaily, "candles_1d")}`,
    );
    const days = new Map(tradeDaysIn.map((d) => [dayId(d), d]));
    if (!this.fullTrades && days.size > 0) {
      for (const next of await this.nextDaysWithTrades([...days.values()])) days.set(dayId(next), next);
    }
    const candleDays = [...days.values()];
    await duck.run(`CREATE OR REPLACE TEMP TABLE candle_days AS ${daysValues(candleDays)}`);

    const tradeFiles = await this.silverFiles(SILVER.trades, candleDays);
    await duck.run(createGoldTradesSql(await this.scanOr(tradeFiles, "trades")));
    checkAborted(this.env, "gold: candles");
    await duck.run(createMinuteAggregatesSql());
    for (const interval of CANDLE_INTERVALS) {
      await duck.run(createRollupSql(interval));
      await duck.run(`CREATE OR REPLACE TEMP TABLE out_${interval} AS ${candleSelect(interval)}`);
    }
    await duck.run(`CREATE OR REPLACE TEMP TABLE day_ids AS
SELECT p_symbol, day, min(first_trade_id) AS first_trade_id, max(last_trade_id) AS last_trade_id FROM m1 GROUP BY p_symbol, day
UNION ALL
SELECT ${pairOfSymbolSql("o.symbol")}, o.bucket_start, o.first_trade_id, o.last_trade_id FROM daily_old o
ANTI JOIN candle_days d ON d.p_symbol = ${pairOfSymbolSql("o.symbol")} AND d.day = o.bucket_start`);
    await duck.run(createDailySummarySql());
    await duck.run(createReconciliationSql(await this.localFiles(SILVER.krakenOhlc, candleDays)));
    await duck.run(createPrevLastSql());
    await duck.run(createTradeQualitySql(this.opts.graceMinutes));
    await duck.run(createDuplicateCountsSql(await this.localFiles(SILVER.tradeDuplicates, candleDays)));
    await duck.run(createQuarantineCountsSql(await this.localFiles(SILVER.tradeQuarantine, candleDays)));
    await duck.run(createQualitySql());
    checkAborted(this.env, "gold: staging");

    const dayFiles = candleDays.map((d) => ({ symbol: d.symbol, file: isoDay(d.day) }));
    const monthFiles = uniqueFiles(
      candleDays.map((d) => ({ symbol: d.symbol, file: isoDay(d.day).slice(0, 7) })),
    );
    for (const interval of CANDLE_INTERVALS) {
      if (interval === "1d") continue;
      await this.stage(
        GOLD.candles[interval],
        `SELECT * FROM out_${interval}`,
        "bucket_start",
        dayFiles,
        this.fullTrades,
      );
    }
    await this.stageMonthly(GOLD.candles["1d"], "out_1d", "bucket_start", monthFiles);
    await this.stageMonthly(GOLD.dailySummary, "daily_summary_new", "day", monthFiles);
    await this.stage(
      GOLD.reconciliation,
      "SELECT * FROM reconciliation_new",
      "minute",
      dayFiles,
      this.fullTrades,
    );
    await this.stage(GOLD.quality, "SELECT * FROM quality_new", "hour", dayFiles, this.fullTrades);

    if (tickerDays.length > 0 || this.fullTicker) {
      await duck.run(createMarketMetricsSql(await this.localFiles(SILVER.ticker, tickerDays)));
      const metricFiles = tickerDays.map((d) => ({ symbol: d.symbol, file: isoDay(d.day) }));
      await this.stage(
        GOLD.marketMetrics,
        "SELECT * FROM market_metrics_new",
        "minute",
        metricFiles,
        this.fullTicker,
      );
    }
    checkAborted(this.env, "gold: publishing");
    const { published: filesPublished, deleted: filesDeleted } = await publishStaged(
      this.env,
      this.staging,
      this.staged,
      { summary: await this.reader.snapshotsRead() },
    );
    const n = await duck.scalar("SELECT count(*)::BIGINT FROM gold_trades");
    return {
      tradeDays: candleDays.length,
      tickerDays: tickerDays.length,
      trades: Number(n ?? 0),
      filesPublished,
      filesDeleted,
      full: this.fullTrades,
    };
  }

  /** Stages a day-file dataset; in a full run, every existing file of the dataset is owned too. */
  private async stage(
    dataset: string,
    select: string,
    orderBy: string,
    owned: readonly GoldFile[],
    full: boolean,
  ): Promise<void> {
    const all = full ? uniqueFiles([...owned, ...(await this.existingGoldFiles(dataset))]) : owned;
    this.staged.push(await stageGoldFiles(this.duck, this.staging, dataset, select, orderBy, all));
  }

  /** Month files: the new rows of the recomputed days plus the month's other days as they were. */
  private async stageMonthly(
    dataset: string,
    table: string,
    dayColumn: string,
    months: readonly GoldFile[],
  ): Promise<void> {
    const keys = this.fullTrades
      ? []
      : await this.reader.existing(months.map((m) => goldFileKey(dataset, m)));
    let select = `SELECT * FROM ${table}`;
    if (keys.length > 0) {
      const paths = await this.reader.paths(keys);
      const fmt = "'%Y-%m'";
      select += ` UNION ALL BY NAME
SELECT o.*, ${pairOfSymbolSql("o.symbol")} AS p_symbol, strftime(o.${dayColumn}, ${fmt}) AS p_file
FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = false, union_by_name = true) o
ANTI JOIN candle_days d ON d.p_symbol = ${pairOfSymbolSql("o.symbol")} AND d.day = CAST(o.${dayColumn} AS TIMESTAMPTZ)`;
    }
    await this.stage(dataset, select, dayColumn, months, this.fullTrades);
  }

  /** For each day, the next day of its symbol that holds trades (per the existing daily candles). */
  private async nextDaysWithTrades(days: readonly SymbolDay[]): Promise<SymbolDay[]> {
    await this.duck.run(`CREATE OR REPLACE TEMP TABLE touched_days AS ${daysValues(days)}`);
    const rows =
      await this.duck.rows(`SELECT DISTINCT t.p_symbol, epoch_us(min(o.bucket_start))::VARCHAR AS next_day
FROM touched_days t JOIN daily_old o
  ON ${pairOfSymbolSql("o.symbol")} = t.p_symbol AND o.bucket_start > t.day
GROUP BY t.p_symbol, t.day`);
    return rows.map((r) => ({ symbol: String(r.p_symbol), day: BigInt(String(r.next_day)) }));
  }

  /** Keys of a silver dataset's partition files for the given symbol-days. */
  private async silverFiles(dataset: string, days: readonly SymbolDay[]): Promise<string[]> {
    const bySymbolDay = new Set(days.map(dayId));
    const prefixes = new Set(days.map((d) => dayPrefix(dataset, d.day)));
    const keys: string[] = [];
    for (const prefix of [...prefixes].sort()) {
      for (const key of await this.reader.parquetKeys(prefix)) {
        const p = partitionOfKey(key);
        if (p && bySymbolDay.has(dayId({ symbol: p.symbol, day: dayStart(p.hour) }))) keys.push(key);
      }
    }
    return keys;
  }

  private async localFiles(dataset: string, days: readonly SymbolDay[]): Promise<string[]> {
    return this.reader.paths(await this.silverFiles(dataset, days));
  }

  private async existingFiles(dataset: string, symbols: readonly string[]): Promise<string[]> {
    const keys: string[] = [];
    for (const s of symbols) keys.push(...(await this.reader.parquetKeys(`gold/${dataset}/${pairPath(s)}/`)));
    return keys;
  }

  private async existingGoldFiles(dataset: string): Promise<GoldFile[]> {
    const out: GoldFile[] = [];
    for (const key of await this.reader.parquetKeys(`gold/${dataset}/`)) {
      const f = parseGoldFileKey(dataset, key);
      if (f) out.push(f);
    }
    return out;
  }

  /** A read_parquet over `keys`, or an empty relation with the shape of `kind`. */
  private async scanOr(keys: readonly string[], kind: "trades" | "candles_1d"): Promise<string> {
    if (keys.length > 0) {
      const paths = await this.reader.paths(keys);
      return `read_parquet(${sqlStringList(paths)}, hive_partitioning = false, union_by_name = true)`;
    }
    return kind === "trades"
      ? "(SELECT NULL::VARCHAR AS symbol, NULL::BIGINT AS trade_id, NULL::DECIMAL(38,10) AS price, NULL::DECIMAL(38,10) AS qty, NULL::VARCHAR AS side, NULL::TIMESTAMPTZ AS ts, NULL::TIMESTAMPTZ AS ingested_at WHERE false)"
      : "(SELECT NULL::VARCHAR AS symbol, NULL::TIMESTAMPTZ AS bucket_start, NULL::BIGINT AS first_trade_id, NULL::BIGINT AS last_trade_id WHERE false)";
  }
}

function addDays(into: Map<string, SymbolDay>, partitions: readonly HourPartition[]): void {
  for (const p of partitions) {
    const d = { symbol: p.symbol, day: dayStart(p.hour) };
    into.set(dayId(d), d);
  }
}

function changedPartitions(entries: readonly ChangeEntry[]): HourPartition[] {
  return entries.flatMap((e) =>
    e.partitions.map((p) => ({ symbol: p.symbol, hour: parseRfc3339Micros(p.hour) })),
  );
}

/** Every hour partition of a silver dataset that has a file now. */
export async function listPartitions(reader: LakeReader, dataset: string): Promise<HourPartition[]> {
  return partitionsOfKeys(await reader.parquetKeys(`silver/${dataset}/`));
}

function daysValues(days: readonly SymbolDay[]): string {
  if (days.length === 0) return "SELECT NULL::VARCHAR AS p_symbol, NULL::TIMESTAMPTZ AS day WHERE false";
  const values = days.map((d) => `(${sqlString(d.symbol)}, make_timestamptz(${d.day}::BIGINT))`).join(", ");
  return `SELECT * FROM (VALUES ${values}) t(p_symbol, day)`;
}

function isoDay(micros: bigint): string {
  return formatMicros(micros).slice(0, 10);
}

function dayPrefix(dataset: string, day: bigint): string {
  return `silver/${dataset}/${dayPartitionPath(day)}/`;
}

function uniqueFiles(files: readonly GoldFile[]): GoldFile[] {
  return [...new Map(files.map((f) => [goldFileId(f), f])).values()];
}
