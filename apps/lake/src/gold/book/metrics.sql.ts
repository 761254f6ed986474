/**
 * SQL of gold/book_1s and gold/book_1m (DuckDB): the seconds replayed (`bk_known`, replay.sql.ts),
 * and the minutes of the recomputed hours from all of their seconds (`book_1s_day`, day-files.sql.ts).
 * Prices, quantities and depths stay DECIMAL(38,10): mid and microprice are exact quotients rounded
 * half up to 10 decimals (integer units, as the candles' vwap); a depth band is compared exactly
 * (`price · 2·10⁴ ≥ (bid + ask) · (10⁴ − bps)`, no rounded mid). Ratios (spread in bps, imbalances)
 * are DOUBLE, their means summed in time order so that every run gives the same bits. Needs the unit
 * macros of gold/market/candles.sql.ts.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";

export const BOOK_BANDS_BPS = [10, 25, 50] as const;

export const BOOK_1S_COLUMNS = [
  "symbol",
  "second",
  "session",
  "seq",
  "updates",
  "bid_levels",
  "ask_levels",
  "bid",
  "bid_qty",
  "ask",
  "ask_qty",
  "spread",
  "spread_bps",
  "mid",
  "microprice",
  "imbalance",
  ...BOOK_BANDS_BPS.flatMap((b) => [`bid_depth_${b}bps`, `ask_depth_${b}bps`]),
  ...BOOK_BANDS_BPS.map((b) => `depth_imbalance_${b}bps`),
] as const;

export const BOOK_1M_COLUMNS = [
  "symbol",
  "minute",
  "seconds",
  "updates",
  "bid",
  "ask",
  "mid",
  "microprice",
  "spread_bps_mean",
  "spread_bps_min",
  "spread_bps_max",
  "imbalance_mean",
  ...BOOK_BANDS_BPS.flatMap((b) => [`bid_depth_${b}bps_mean`, `ask_depth_${b}bps_mean`]),
] as const;

/** (x − y) / (x + y) as DOUBLE, NULL when both are zero or unknown. */
const ratio = (x: string, y: string): string =>
  `CASE WHEN ${x} + ${y} > 0 THEN (${x} - ${y})::DOUBLE / (${x} + ${y})::DOUBLE END`;

/** Σ qty of a side's levels inside the band (0 when none; NULL without both best prices). */
const band = (side: "b" | "a", bps: number): string => {
  const inside =
    side === "b" ? `l.p * 20000 >= two_mid * ${10_000 - bps}` : `l.p * 20000 <= two_mid * ${10_000 + bps}`;
  return `CASE WHEN two_mid IS NOT NULL THEN coalesce(list_sum(list_transform(list_filter(${side}, lambda l: ${inside}), lambda l: l.q)), 0)::DECIMAL(38,10) END`;
};

export function createBook1sSql(): string {
  const depths = BOOK_BANDS_BPS.flatMap((b) => [
    `${band("b", b)} AS bid_depth_${b}bps`,
    `${band("a", b)} AS ask_depth_${b}bps`,
  ]);
  const imbalances = BOOK_BANDS_BPS.map(
    (b) => `${ratio(`bid_depth_${b}bps`, `ask_depth_${b}bps`)} AS depth_imbalance_${b}bps`,
  );
  // Every figure is a function of the book alone: computed once per span, then given to its seconds.
  return `CREATE OR REPLACE TEMP TABLE book_1s_new AS
WITH t AS (
  SELECT span, bk.b AS b, bk.a AS a, len(bk.b)::INTEGER AS bid_levels, len(bk.a)::INTEGER AS ask_levels,
    bk.b[1].p AS bid, bk.b[1].q AS bid_qty, bk.a[1].p AS ask, bk.a[1].q AS ask_qty,
    (bk.b[1].p + bk.a[1].p)::DECIMAL(38,10) AS two_mid
  FROM bk_spans WHERE span IN (SELECT span FROM bk_known)
), d AS (
  SELECT *, ${depths.join(",\n    ")} FROM t
), m AS (
  SELECT span, bid_levels, ask_levels, bid, bid_qty, ask, ask_qty,
    (ask - bid)::DECIMAL(38,10) AS spread,
    10000 * (ask - bid)::DOUBLE / (two_mid::DOUBLE / 2) AS spread_bps,
    units10(div_round(dec_units(two_mid), 2::HUGEINT)) AS mid,
    units10(div_round(dec_units(bid) * dec_units(ask_qty) + dec_units(ask) * dec_units(bid_qty),
      dec_units(bid_qty) + dec_units(ask_qty))) AS microprice,
    ${ratio("bid_qty", "ask_qty")} AS imbalance,
    ${BOOK_BANDS_BPS.flatMap((b) => [`bid_depth_${b}bps`, `ask_depth_${b}bps`]).join(", ")},
    ${imbalances.join(",\n    ")}
  FROM d
)
SELECT k.symbol, make_timestamptz(k.sec * 1000000) AS second, k.session, k.seq, k.updates,
  m.* EXCLUDE (span),
  ${pairOfSymbolSql("k.symbol")} AS p_symbol, strftime(make_timestamptz(k.sec * 1000000), '%Y-%m-%d') AS p_file
FROM bk_known k JOIN m ON m.span = k.span`;
}

/** A DECIMAL mean over the minute's seconds, exact and rounded half up to 10 decimals. */
const mean = (col: string): string =>
  `units10(div_round(dec_units(sum(${col})), count(${col})::HUGEINT)) AS ${col}_mean`;

/** The minutes of every hour of `book_hours`, from all of its seconds (those kept and those replayed). */
export function createBook1mSql(): string {
  return `CREATE OR REPLACE TEMP TABLE book_1m_new AS
SELECT any_value(symbol) AS symbol, date_trunc('minute', second) AS minute,
  count(*)::BIGINT AS seconds, sum(updates)::BIGINT AS updates,
  arg_max(bid, second) AS bid, arg_max(ask, second) AS ask, arg_max(mid, second) AS mid,
  arg_max(microprice, second) AS microprice,
  list_avg(list(spread_bps ORDER BY second)) AS spread_bps_mean,
  min(spread_bps) AS spread_bps_min, max(spread_bps) AS spread_bps_max,
  list_avg(list(imbalance ORDER BY second)) AS imbalance_mean,
  ${BOOK_BANDS_BPS.flatMap((b) => [mean(`bid_depth_${b}bps`), mean(`ask_depth_${b}bps`)]).join(",\n  ")},
  p_symbol, any_value(p_file) AS p_file
FROM book_1s_day s
SEMI JOIN book_hours h ON h.p_symbol = s.p_symbol AND h.t_us = epoch_us(date_trunc('hour', s.second))
GROUP BY p_symbol, date_trunc('minute', second)`;
}
