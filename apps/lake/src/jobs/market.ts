/**
 * The scheduled jobs of the market layers, for the lake's job registry:
 *
 *   silver.trades       every 5 s   bronze trades → silver (typed, deduplicated, quarantine)
 *   silver.ticker       every 5 s   bronze ticker → silver
 *   silver.kraken_ohlc  every 5 s   Kraken's own candles from bronze → silver/kraken_ohlc_1m
 *   silver.book         every 5 s   bronze book → silver book events, checkpoints and quarantine
 *   gold.market         every 5 s   after the silver jobs: candles, daily summary, quality, metrics, reconciliation
 *   gold.book           every 30 s  after silver.book: the book per second and minute, checksum health per hour
 *   export.csv          hourly      the challenge's CSV files, at minute EXPORT_GRACE_MINUTES + 1
 *   market.maintain     hourly      prunes change journals, removes staging left by crashed runs
 *
 * The scheduler never overlaps a job with itself; every job is also safe to re-run (idempotent).
 * A backfill (`ctx.range`) re-reads bronze for silver and recomputes the days or hours for gold and CSV:
 * one run per hour (silver, CSV) or day (gold) in the range, not one per 5-second slot.
 */
import type { Config } from "@tributary/shared/config";
import type { JobContext, JobDefinition, JobResult } from "@tributary/shared/scheduler/job";
import { PermanentJobError } from "@tributary/shared/scheduler/job";
import { CSV_EXPORT_JOB, runCsvExport } from "../export/csv-export.ts";
import { ExportPatternError } from "../export/naming.ts";
import { GOLD_BOOK_JOB, runGoldBook } from "../gold/book/book.ts";
import { GOLD_MARKET_JOB, runGoldMarket } from "../gold/market/market.ts";
import type { LakeJobEnv } from "../runtime/env.ts";
import { JobStateError } from "../runtime/job-state.ts";
import { bySingleWatermark, byWatermarksMap, maintainMarketLayers } from "../runtime/maintenance.ts";
import { runSilverBook } from "../silver/book.ts";
import {
  KRAKEN_OHLC_JOB,
  SILVER_BOOK_JOB,
  SILVER_TICKER_JOB,
  SILVER_TRADES_JOB,
} from "../silver/datasets.ts";
import { runSilverKrakenOhlc } from "../silver/kraken-ohlc.ts";
import { runSilverTicker } from "../silver/ticker.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { lakeJobEnv } from "./job-env.ts";

export const MARKET_MAINTENANCE_JOB = "market.maintain";

/** DuckDB memory per job run; beyond it DuckDB spills to the scratch directory. */
const JOB_MEMORY_MB = 2048;

/** The job environment for one market run, built from Config at the edge. */
export function marketJobEnv(config: Config, ctx: Pick<JobContext, "log" | "signal">): LakeJobEnv {
  return lakeJobEnv(config, ctx, "market", JOB_MEMORY_MB);
}

function range(ctx: JobContext): { from: bigint; to: bigint } | undefined {
  return ctx.range
    ? { from: BigInt(ctx.range.from.getTime()) * 1000n, to: BigInt(ctx.range.to.getTime()) * 1000n }
    : undefined;
}

/** Errors a retry cannot fix become PermanentJobError, so the scheduler does not retry them. */
async function permanentOnBadInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ExportPatternError || err instanceof JobStateError) {
      throw new PermanentJobError(err.message, { cause: err });
    }
    throw err;
  }
}

export function marketJobs(config: Config): JobDefinition[] {
  const grace = config.export.graceMinutes;
  const run = (fn: (env: LakeJobEnv, ctx: JobContext) => Promise<JobResult>) => (ctx: JobContext) =>
    permanentOnBadInput(() => fn(marketJobEnv(config, ctx), ctx));
  const r = range;
  return [
    {
      name: SILVER_TRADES_JOB,
      partitionedBy: "hour",
      pattern: "*/5 * * * * *",
      description:
        "Bronze trades → silver/kraken_trades (typed, deduplicated across all time), duplicates and quarantine",
      timeoutMs: 15 * 60_000,
      retries: 2,
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runSilverTrades(env, rng ? { range: rng } : {});
        return { rows: res.validRows, detail: { ...res } };
      }),
    },
    {
      name: SILVER_TICKER_JOB,
      partitionedBy: "hour",
      pattern: "*/5 * * * * *",
      description: "Bronze ticker → silver/kraken_ticker (typed) and quarantine",
      timeoutMs: 15 * 60_000,
      retries: 2,
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runSilverTicker(env, rng ? { range: rng } : {});
        return { rows: res.validRows, detail: { ...res } };
      }),
    },
    {
      name: KRAKEN_OHLC_JOB,
      partitionedBy: "hour",
      pattern: "*/5 * * * * *",
      description:
        "Bronze kraken_ohlc → silver/kraken_ohlc_1m (Kraken's own candles, latest fetch per minute) and quarantine",
      timeoutMs: 15 * 60_000,
      retries: 2,
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runSilverKrakenOhlc(env, rng ? { range: rng } : {});
        return { rows: res.validRows, detail: { ...res } };
      }),
    },
    {
      name: SILVER_BOOK_JOB,
      partitionedBy: "hour",
      pattern: "*/5 * * * * *",
      description:
        "Bronze kraken_book → silver/kraken_book_events (typed), kraken_book_checkpoints (full books each minute) and quarantine",
      timeoutMs: 15 * 60_000,
      retries: 2,
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runSilverBook(env, rng ? { range: rng } : {});
        return { rows: res.validRows, detail: { ...res } };
      }),
    },
    {
      name: GOLD_MARKET_JOB,
      partitionedBy: "day",
      pattern: "*/5 * * * * *",
      description:
        "Silver → gold candles (1m-1d), daily summary, data quality, market metrics, reconciliation",
      timeoutMs: 15 * 60_000,
      retries: 2,
      after: [SILVER_TRADES_JOB, SILVER_TICKER_JOB, KRAKEN_OHLC_JOB],
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runGoldMarket(env, { graceMinutes: grace, ...(rng ? { range: rng } : {}) });
        return { rows: res.trades, detail: { ...res } };
      }),
    },
    {
      // Its own job, not part of gold.market: the book replays far more rows than trades, and a slow
      // or failing book must never hold back candles. Every 30 s: a run replays the changed hours.
      name: GOLD_BOOK_JOB,
      partitionedBy: "day",
      pattern: "*/30 * * * * *",
      description:
        "Silver book → gold book_1s (top of book, depth bands, imbalance), book_1m and book_quality_hourly",
      timeoutMs: 15 * 60_000,
      retries: 2,
      after: [SILVER_BOOK_JOB],
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runGoldBook(env, rng ? { range: rng } : {});
        return { rows: res.seconds, detail: { ...res } };
      }),
    },
    {
      name: CSV_EXPORT_JOB,
      partitionedBy: "hour",
      pattern: `0 ${(grace + 1) % 60} * * * *`,
      description: `Hourly CSV files ${config.export.pattern} (${config.export.timeZone}) under ${config.export.dir}`,
      timeoutMs: 30 * 60_000,
      retries: 2,
      after: [SILVER_TRADES_JOB],
      run: run(async (env, ctx) => {
        const rng = r(ctx);
        const res = await runCsvExport(env, config.export, rng ? { range: rng } : {});
        return { rows: res.rows, detail: { ...res } };
      }),
    },
    {
      name: MARKET_MAINTENANCE_JOB,
      pattern: "0 37 * * * *",
      description: "Prunes read change-journal entries and staging left by crashed market jobs",
      timeoutMs: 10 * 60_000,
      retries: 1,
      run: run(async (env) => {
        const res = await maintainMarketLayers(
          env,
          {
            [SILVER_TRADES_JOB]: [
              { job: GOLD_MARKET_JOB, watermark: byWatermarksMap },
              { job: CSV_EXPORT_JOB, watermark: bySingleWatermark },
            ],
            [SILVER_TICKER_JOB]: [{ job: GOLD_MARKET_JOB, watermark: byWatermarksMap }],
            [KRAKEN_OHLC_JOB]: [{ job: GOLD_MARKET_JOB, watermark: byWatermarksMap }],
            [SILVER_BOOK_JOB]: [{ job: GOLD_BOOK_JOB, watermark: bySingleWatermark }],
          },
          [
            SILVER_TRADES_JOB,
            SILVER_TICKER_JOB,
            GOLD_MARKET_JOB,
            KRAKEN_OHLC_JOB,
            SILVER_BOOK_JOB,
            GOLD_BOOK_JOB,
          ],
        );
        return { rows: res.journalEntriesPruned, detail: { ...res } };
      }),
    },
  ];
}
