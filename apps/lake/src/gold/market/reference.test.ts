/**
 * Gold against an independent recomputation (reference.ts, bigint arithmetic) on a synthetic market
 * of ~100k trades written as bronze: two symbols, a day boundary, equal timestamps, missed trade_ids,
 * duplicates re-sent later (REST backfill), and trades arriving hours late. Silver and gold run
 * incrementally after each of several batches; the result must equal the reference exactly, and a
 * full rebuild must give identical gold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { seededRandom } from "@tributary/shared/random";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { deleteJobState } from "../../runtime/job-state.ts";
import { SILVER_TRADES_JOB } from "../../silver/datasets.ts";
import { runSilverTrades } from "../../silver/trades.ts";
import { type BronzeRecord, commitBronze } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { INTERVAL_MICROS } from "./candles.sql.ts";
import { GOLD_MARKET_JOB, runGoldMarket } from "./market.ts";
import {
  dedupeTrades,
  type ReferenceTrade,
  referenceCandles,
  referenceDailySummary,
  referenceQuality,
} from "./reference.ts";
import { verifyGold } from "./verify.ts";

const TRADES = Number(process.env.TRIBUTARY_REFERENCE_TRADES ?? 100_000);
const GRACE_MINUTES = 5;
const START = parseRfc3339Micros("2024-05-01T18:00:00Z");

interface Arrival {
  readonly trade: ReferenceTrade;
  readonly source: "ws" | "rest";
  readonly arrivedAt: bigint;
}

/** The market's ground truth and the order in which its copies reach bronze. */
function syntheticMarket(n: number): { truth: ReferenceTrade[]; arrivals: Arrival[] } {
  const rand = seededRandom(20240501);
  const symbols = [
    { symbol: "BTC/USD", price: 6_000_000n, priceDecimals: 1, id: 70_000_000n },
    { symbol: "ETH/USD", price: 300_000n, priceDecimals: 2, id: 9_000_000n },
  ];
  const truth: ReferenceTrade[] = [];
  let t = START;
  for (let i = 0; i < n; i++) {
    const s = symbols[rand() < 0.6 ? 0 : 1] as (typeof symbols)[0];
    // ~1.1 s apart on average, sometimes the same microsecond (a taker sweep).
    if (rand() > 0.1) t += BigInt(Math.floor(rand() * 2_200_000));
    s.price += BigInt(Math.floor((rand() - 0.5) * 40));
    if (s.price < 1000n) s.price = 1000n;
    s.id += rand() < 0.002 ? 2n + BigInt(Math.floor(rand() * 3)) : 1n; // missed trades
    const qtyUnits = BigInt(1 + Math.floor(rand() * 300_000_000));
    truth.push({
      symbol: s.symbol,
      tradeId: s.id,
      price: units(s.price, s.priceDecimals),
      qty: units(qtyUnits, 8),
      side: rand() < 0.5 ? "buy" : "sell",
      tsMicros: t,
    });
  }
  const arrivals: Arrival[] = [];
  for (const trade of truth) {
    const late = rand() < 0.01 ? BigInt(Math.floor(rand() * 3 * 3600)) * 1_000_000n : 0n;
    arrivals.push({ trade, source: "ws", arrivedAt: trade.tsMicros + 150_000n + late });
    if (rand() < 0.02) {
      arrivals.push({
        trade,
        source: "rest",
        arrivedAt: trade.tsMicros + BigInt(Math.floor(rand() * 7200)) * 1_000_000n,
      });
    }
  }
  arrivals.sort((a, b) => (a.arrivedAt < b.arrivedAt ? -1 : a.arrivedAt > b.arrivedAt ? 1 : 0));
  return { truth, arrivals };
}

function units(u: bigint, decimals: number): string {
  const s = u.toString().padStart(decimals + 1, "0");
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

function toRecord(a: Arrival, offset: number): BronzeRecord {
  const t = a.trade;
  return {
    partition: t.symbol === "BTC/USD" ? 0 : 1,
    offset,
    key: t.symbol,
    value: JSON.stringify({
      v: 1,
      exchange: "KRAKEN",
      symbol: t.symbol,
      trade_id: Number(t.tradeId),
      price: t.price,
      qty: t.qty,
      side: t.side,
      ord_type: "limit",
      ts: formatMicros(t.tsMicros),
      received_at: formatMicros(a.arrivedAt),
      source: a.source,
    }),
    ingestedAt: a.arrivedAt,
  };
}

let lake: TempLake;
let expectedTrades: ReferenceTrade[];
let truthInArrivalOrder: ReferenceTrade[];

beforeAll(async () => {
  lake = createTempLake();
  const { arrivals } = syntheticMarket(TRADES);
  // Kafka offsets per partition (symbol) in arrival order; first seen = lowest offset.
  const next = new Map<number, number>();
  const records = arrivals.map((a) => {
    const p = a.trade.symbol === "BTC/USD" ? 0 : 1;
    const offset = next.get(p) ?? 0;
    next.set(p, offset + 1);
    return toRecord(a, offset);
  });
  truthInArrivalOrder = arrivals.map((a) => ({
    ...a.trade,
    ingestedAtMicros: a.arrivedAt,
    source: a.source,
  }));
  expectedTrades = dedupeTrades(truthInArrivalOrder);
  const batches = 4;
  const size = Math.ceil(records.length / batches);
  for (let b = 0; b < batches; b++) {
    await commitBronze(lake.commitLog, records.slice(b * size, (b + 1) * size));
    await runSilverTrades(lake.env);
    await runGoldMarket(lake.env, { graceMinutes: GRACE_MINUTES });
  }
}, 600_000);

afterAll(() => lake?.cleanup());

const CANDLE_SQL = (
  ds: string,
): string => `SELECT symbol, epoch_us(bucket_start)::VARCHAR AS b, open::VARCHAR AS open,
  high::VARCHAR AS high, low::VARCHAR AS low, close::VARCHAR AS close, base_volume::VARCHAR AS base,
  quote_volume::VARCHAR AS quote, vwap::VARCHAR AS vwap, trade_count::VARCHAR AS n, buy_volume::VARCHAR AS buy,
  sell_volume::VARCHAR AS sell, first_trade_id::VARCHAR AS first, last_trade_id::VARCHAR AS last
  FROM ${lake.scan("gold", ds)} ORDER BY symbol, bucket_start`;

describe(`gold equals an independent bigint recomputation (${TRADES} trades)`, () => {
  test("silver holds every trade exactly once", async () => {
    const [c] = await lake.query(`SELECT count(*)::INT AS n, count(DISTINCT (symbol, trade_id))::INT AS keys
      FROM ${lake.scan("silver", "kraken_trades")}`);
    expect(c).toEqual({ n: expectedTrades.length, keys: expectedTrades.length });
  });

  for (const interval of ["1m", "5m", "15m", "1h", "1d"] as const) {
    test(`candles_${interval} equal the reference exactly`, async () => {
      const ours = await lake.query(CANDLE_SQL(`candles_${interval}`));
      const ref = referenceCandles(expectedTrades, INTERVAL_MICROS[interval]).map((c) => ({
        symbol: c.symbol,
        b: c.bucketStart.toString(),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        base: c.baseVolume,
        quote: c.quoteVolume,
        vwap: c.vwap,
        n: String(c.tradeCount),
        buy: c.buyVolume,
        sell: c.sellVolume,
        first: c.firstTradeId.toString(),
        last: c.lastTradeId.toString(),
      }));
      expect(ours.length).toBe(ref.length);
      expect(ours).toEqual(ref);
    });
  }

  test("daily summary equals the reference (statistics to 1e-12)", async () => {
    const ours =
      await lake.query(`SELECT symbol, day::VARCHAR AS day, open::VARCHAR AS open, close::VARCHAR AS close,
      "return" AS r, realized_vol AS vol, max_drawdown AS dd, trade_count::INT AS n, minutes::INT AS m
      FROM ${lake.scan("gold", "daily_summary")} ORDER BY symbol, day`);
    const ref = referenceDailySummary(expectedTrades);
    expect(ours.map((r) => [r.symbol, r.day, r.open, r.close, r.n, r.m])).toEqual(
      ref.map((r) => [r.symbol, r.day, r.open, r.close, r.tradeCount, r.minutes]),
    );
    for (const [i, r] of ref.entries()) {
      const o = ours[i] as { r: number; vol: number; dd: number };
      expect(Math.abs(o.r - r.return)).toBeLessThan(1e-12);
      expect(Math.abs(o.vol - r.realizedVol)).toBeLessThan(1e-12);
      expect(Math.abs(o.dd - r.maxDrawdown)).toBeLessThan(1e-12);
    }
  });

  test("hourly quality (rows, trade_id gaps, missing trades and their ranges, late arrivals) equals the reference", async () => {
    const ours = await lake.query(`SELECT symbol, epoch_us(hour)::VARCHAR AS h, rows::INT AS rows,
      first_trade_id::VARCHAR AS f, last_trade_id::VARCHAR AS l, trade_id_gaps::INT AS gaps,
      missing_trades::VARCHAR AS missing, missing_trade_ids AS ranges, late_arrivals::INT AS late
      FROM ${lake.scan("gold", "data_quality_hourly")} ORDER BY symbol, hour`);
    const ref = referenceQuality(expectedTrades, GRACE_MINUTES).map((q) => ({
      symbol: q.symbol,
      h: q.hour.toString(),
      rows: q.rows,
      f: q.firstTradeId.toString(),
      l: q.lastTradeId.toString(),
      gaps: q.tradeIdGaps,
      missing: q.missingTrades.toString(),
      ranges: q.missingTradeIds,
      late: q.lateArrivals,
    }));
    expect(ref.some((q) => q.ranges.includes("-"))).toBe(true);
    expect(ours).toEqual(ref);
    const dups = await lake.query(
      `SELECT sum(duplicates_removed)::INT AS d, sum(trade_id_gaps)::INT AS g FROM ${lake.scan("gold", "data_quality_hourly")}`,
    );
    expect(dups[0]?.d).toBeGreaterThan(0);
    expect(dups[0]?.g).toBeGreaterThan(0);
  });

  test("verifyGold, the end-to-end check, passes here and catches one wrong price in the truth", async () => {
    const good = await verifyGold(lake.env, truthInArrivalOrder, { graceMinutes: GRACE_MINUTES });
    expect(good.problems).toEqual([]);
    expect(good.checked.candles_1m).toBeGreaterThan(1000);
    const tampered = [...truthInArrivalOrder];
    tampered[1234] = { ...(tampered[1234] as ReferenceTrade), price: "1.0" };
    const bad = await verifyGold(lake.env, tampered, { graceMinutes: GRACE_MINUTES });
    expect(bad.ok).toBe(false);
    expect(bad.problems.some((p) => p.startsWith("candles_1m"))).toBe(true);
  });

  test("a full rebuild of silver and gold gives identical gold", async () => {
    const datasets = ["candles_1m", "candles_1h", "candles_1d"];
    const before = await Promise.all(datasets.map((ds) => lake.query(CANDLE_SQL(ds))));
    const quality = `SELECT * FROM ${lake.scan("gold", "data_quality_hourly")} ORDER BY symbol, hour`;
    const qBefore = await lake.query(quality);
    await deleteJobState(lake.store, SILVER_TRADES_JOB);
    await deleteJobState(lake.store, GOLD_MARKET_JOB);
    await runSilverTrades(lake.env, { rebuild: true });
    await runGoldMarket(lake.env, { graceMinutes: GRACE_MINUTES, rebuild: true });
    expect(await Promise.all(datasets.map((ds) => lake.query(CANDLE_SQL(ds))))).toEqual(before);
    expect(await lake.query(quality)).toEqual(qBefore);
  }, 300_000);
});
