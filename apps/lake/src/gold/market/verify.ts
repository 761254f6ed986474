/**
 * Compares what the lake holds with an independent recomputation (reference.ts) from the ground
 * truth: silver has each trade exactly once, every candle interval equals the reference exactly, the
 * daily summary's statistics agree to 1e-12, and the hourly quality rows, trade_id gaps and missing
 * trades agree (late arrivals too when the truth carries `ingestedAtMicros`).
 *
 * The end-to-end test (simulator → ingest → Kafka → bronze → silver → gold) calls this with the
 * simulator's tape: `verifyGold(env, tape.map((t) => fromTapeTrade(symbol, t, priceDecimals, lotDecimals)))`.
 */
import { sqlStringList } from "../../runtime/duckdb.ts";
import { type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { snapshotReader } from "../../runtime/snapshot-reader.ts";
import { CANDLE_INTERVALS, INTERVAL_MICROS } from "./candles.sql.ts";
import {
  dedupeTrades,
  type ReferenceTrade,
  referenceCandles,
  referenceDailySummary,
  referenceQuality,
} from "./reference.ts";

export interface GoldVerification {
  readonly ok: boolean;
  /** One line per disagreement (at most `maxProblems`). */
  readonly problems: readonly string[];
  readonly checked: Readonly<Record<string, number>>;
}

export interface VerifyOptions {
  readonly graceMinutes?: number;
  /** Statistics tolerance (absolute) for return, realized_vol, max_drawdown. */
  readonly tolerance?: number;
  readonly maxProblems?: number;
}

/** `truth` in first-seen order (duplicates allowed; the first copy of a trade_id is the one kept). */
export async function verifyGold(
  env: LakeJobEnv,
  truth: readonly ReferenceTrade[],
  opts: VerifyOptions = {},
): Promise<GoldVerification> {
  const tolerance = opts.tolerance ?? 1e-12;
  const maxProblems = opts.maxProblems ?? 50;
  const trades = dedupeTrades(truth);
  const problems: string[] = [];
  const checked: Record<string, number> = {};
  const say = (p: string): void => {
    if (problems.length < maxProblems) problems.push(p);
  };
  using reader = snapshotReader(env, ["silver", "gold"]);
  using duck = await openJobDuck(env);
  const scan = async (layer: string, dataset: string): Promise<string | undefined> => {
    const keys = await reader.parquetKeys(`${layer}/${dataset}/`);
    if (keys.length === 0) return undefined;
    return `read_parquet(${sqlStringList(await reader.paths(keys))}, hive_partitioning = false, union_by_name = true)`;
  };
  const silver = await scan("silver", "kraken_trades");
  const [s] = silver
    ? await duck.rows(
        `SELECT count(*)::BIGINT AS n, count(DISTINCT (exchange, symbol, trade_id))::BIGINT AS keys FROM ${silver}`,
      )
    : [{ n: 0, keys: 0 }];
  checked.silver = Number(s?.n ?? 0);
  if (Number(s?.n) !== Number(s?.keys))
    say(`silver holds ${s?.n} rows for ${s?.keys} trade keys (duplicates)`);
  if (Number(s?.n) !== trades.length) say(`silver holds ${s?.n} trades, the truth ${trades.length}`);

  for (const interval of CANDLE_INTERVALS) {
    const src = await scan("gold", `candles_${interval}`);
    const ours = src
      ? await duck.rows(`SELECT symbol, epoch_us(bucket_start)::VARCHAR AS b, open::VARCHAR AS open, high::VARCHAR AS high,
  low::VARCHAR AS low, close::VARCHAR AS close, base_volume::VARCHAR AS base, quote_volume::VARCHAR AS quote,
  vwap::VARCHAR AS vwap, trade_count::VARCHAR AS n, buy_volume::VARCHAR AS buy, sell_volume::VARCHAR AS sell,
  first_trade_id::VARCHAR AS first, last_trade_id::VARCHAR AS last FROM ${src} ORDER BY symbol, bucket_start`)
      : [];
    const ref = referenceCandles(trades, INTERVAL_MICROS[interval]);
    checked[`candles_${interval}`] = ref.length;
    if (ours.length !== ref.length) say(`candles_${interval}: ${ours.length} rows, reference ${ref.length}`);
    for (let i = 0; i < Math.min(ours.length, ref.length); i++) {
      const o = ours[i] as Record<string, unknown>;
      const r = ref[i] as (typeof ref)[0];
      const expected: Record<string, string> = {
        symbol: r.symbol,
        b: r.bucketStart.toString(),
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        base: r.baseVolume,
        quote: r.quoteVolume,
        vwap: r.vwap,
        n: String(r.tradeCount),
        buy: r.buyVolume,
        sell: r.sellVolume,
        first: r.firstTradeId.toString(),
        last: r.lastTradeId.toString(),
      };
      for (const [k, v] of Object.entries(expected)) {
        if (o[k] !== v)
          say(`candles_${interval} ${r.symbol} ${r.bucketStart}: ${k} = ${o[k]}, reference ${v}`);
      }
    }
  }

  const daily = await scan("gold", "daily_summary");
  const ours = daily
    ? await duck.rows(`SELECT symbol, day::VARCHAR AS day, open::VARCHAR AS open, close::VARCHAR AS close, "return" AS r,
  realized_vol AS vol, max_drawdown AS dd, trade_count::INT AS n FROM ${daily} ORDER BY symbol, day`)
    : [];
  const refDaily = referenceDailySummary(trades);
  checked.daily_summary = refDaily.length;
  if (ours.length !== refDaily.length)
    say(`daily_summary: ${ours.length} rows, reference ${refDaily.length}`);
  for (let i = 0; i < Math.min(ours.length, refDaily.length); i++) {
    const o = ours[i] as Record<string, unknown>;
    const r = refDaily[i] as (typeof refDaily)[0];
    const where = `daily_summary ${r.symbol} ${r.day}`;
    if (o.day !== r.day || o.open !== r.open || o.close !== r.close || o.n !== r.tradeCount) {
      say(`${where}: ${JSON.stringify(o)} vs reference ${JSON.stringify(r)}`);
    }
    for (const [k, v] of [
      ["r", r.return],
      ["vol", r.realizedVol],
      ["dd", r.maxDrawdown],
    ] as const) {
      if (Math.abs(Number(o[k]) - v) > tolerance) say(`${where}: ${k} = ${o[k]}, reference ${v}`);
    }
  }

  const quality = await scan("gold", "data_quality_hourly");
  const withLate = trades.every((t) => t.ingestedAtMicros !== undefined);
  const q = quality
    ? await duck.rows(`SELECT symbol, epoch_us(hour)::VARCHAR AS h, rows::INT AS rows, trade_id_gaps::INT AS gaps,
  missing_trades::VARCHAR AS missing, missing_trade_ids AS ranges, late_arrivals::INT AS late FROM ${quality} WHERE rows > 0 ORDER BY symbol, hour`)
    : [];
  const refQ = referenceQuality(trades, opts.graceMinutes ?? 5);
  checked.data_quality_hourly = refQ.length;
  if (q.length !== refQ.length)
    say(`data_quality_hourly: ${q.length} hours with trades, reference ${refQ.length}`);
  for (let i = 0; i < Math.min(q.length, refQ.length); i++) {
    const o = q[i] as Record<string, unknown>;
    const r = refQ[i] as (typeof refQ)[0];
    const same =
      o.h === r.hour.toString() &&
      o.rows === r.rows &&
      o.gaps === r.tradeIdGaps &&
      o.missing === r.missingTrades.toString() &&
      o.ranges === r.missingTradeIds &&
      (!withLate || o.late === r.lateArrivals);
    if (!same)
      say(
        `data_quality_hourly ${r.symbol} ${r.hour}: ${JSON.stringify(o)} vs reference ${JSON.stringify(r, jsonBig)}`,
      );
  }
  return { ok: problems.length === 0, problems, checked };
}

function jsonBig(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
