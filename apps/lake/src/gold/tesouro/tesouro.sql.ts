/**
 * Gold for the Tesouro Direto bonds, from silver `cdc_<schema>_tesouro_prices` (table `prices`).
 * Dates are DATEs and money DECIMALs all the way: nothing passes through a float or a time zone.
 */

/** Yield curve per bond type and base date: the rates by maturity (time to maturity in days and years). */
export const YIELD_CURVE_SELECT = `SELECT bond_type, base_date, maturity_date,
  datediff('day', base_date, maturity_date) AS days_to_maturity,
  CAST(datediff('day', base_date, maturity_date) / 365.25 AS DECIMAL(9,4)) AS years_to_maturity,
  buy_rate, sell_rate
FROM prices
ORDER BY bond_type, base_date, maturity_date`;

/** Buy/sell spread of each quote, in rate (percentage points and basis points) and in price. */
export const SPREADS_SELECT = `SELECT bond_type, maturity_date, base_date,
  buy_rate, sell_rate,
  CAST(sell_rate - buy_rate AS DECIMAL(9,2)) AS rate_spread_pp,
  CAST((sell_rate - buy_rate) * 100 AS DECIMAL(9,0)) AS rate_spread_bps,
  buy_price, sell_price,
  CAST(buy_price - sell_price AS DECIMAL(18,2)) AS price_spread,
  CASE WHEN buy_price > 0 THEN CAST(round((buy_price - sell_price) * 100 / buy_price, 4) AS DECIMAL(9,4)) END AS price_spread_pct
FROM prices
ORDER BY bond_type, maturity_date, base_date`;

/** Change of each bond (type + maturity) from its previous quoted base date (holidays have no quote). */
export const DAILY_CHANGE_SELECT = `WITH ordered AS (
  SELECT *,
    lag(base_date) OVER w AS prev_base_date,
    lag(buy_price) OVER w AS prev_buy_price, lag(sell_price) OVER w AS prev_sell_price,
    lag(base_price) OVER w AS prev_base_price,
    lag(buy_rate) OVER w AS prev_buy_rate, lag(sell_rate) OVER w AS prev_sell_rate
  FROM prices
  WINDOW w AS (PARTITION BY bond_type, maturity_date ORDER BY base_date)
)
SELECT bond_type, maturity_date, base_date, prev_base_date,
  buy_price, CAST(buy_price - prev_buy_price AS DECIMAL(18,2)) AS buy_price_change,
  CASE WHEN prev_buy_price > 0 THEN CAST(round((buy_price - prev_buy_price) * 100 / prev_buy_price, 4) AS DECIMAL(9,4)) END AS buy_price_change_pct,
  sell_price, CAST(sell_price - prev_sell_price AS DECIMAL(18,2)) AS sell_price_change,
  base_price, CAST(base_price - prev_base_price AS DECIMAL(18,2)) AS base_price_change,
  buy_rate, CAST(buy_rate - prev_buy_rate AS DECIMAL(9,2)) AS buy_rate_change_pp,
  sell_rate, CAST(sell_rate - prev_sell_rate AS DECIMAL(9,2)) AS sell_rate_change_pp
FROM ordered
WHERE prev_base_date IS NOT NULL
ORDER BY bond_type, maturity_date, base_date`;

/** The latest curve of each bond type: its quotes on the most recent base date it has. */
export const LATEST_CURVE_SELECT = `WITH latest AS (SELECT bond_type, max(base_date) AS base_date FROM prices GROUP BY bond_type)
SELECT c.* FROM (${YIELD_CURVE_SELECT.replace(/\nORDER BY[^\n]*$/, "")}) c JOIN latest USING (bond_type, base_date)
ORDER BY bond_type, maturity_date`;
