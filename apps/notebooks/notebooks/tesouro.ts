// %% [markdown]
// # Tesouro Direto
//
// Brazilian government bonds sold to retail investors, captured from PostgreSQL by CDC:
// yield curves by bond type for chosen dates, the bid/ask spread, and day-over-day changes.
// Rates are annual percentages as published (exact decimals in the lake); base dates are
// calendar dates, never shifted by a time zone.

// %% Setup
import {
  defineParams,
  display,
  heatmap,
  lineChart,
  loadConfig,
  md,
  openLake,
  sqlList,
  table,
} from "@tributary/notebooks/kit";

const params = defineParams({
  /** Base dates (YYYY-MM-DD) to compare; empty picks the latest and the dates `lookback` before it. */
  dates: [] as string[],
  /** How far back the compared curves lie from the latest date (DuckDB intervals: "1 month", "90 days"). */
  lookback: ["1 month", "1 year"],
  /** Bond types to show; empty shows all. */
  bondTypes: [] as string[],
  /** Trading days in the day-by-day change chart. */
  recentDays: 20,
});

await using lake = await openLake(loadConfig());
const curveSource = lake.has("gold", "tesouro_yield_curve")
  ? "gold.tesouro_yield_curve"
  : lake.has("silver", "tesouro_prices")
    ? `(SELECT bond_type, base_date, maturity_date,
         date_diff('day', base_date, maturity_date) / 365.25 AS years_to_maturity, buy_rate, sell_rate
       FROM silver.tesouro_prices)`
    : undefined;
const typeFilter = params.bondTypes.length > 0 ? `AND bond_type IN (${sqlList(params.bondTypes)})` : "";
/** Every type is "Tesouro …": charts label them without the prefix. */
const shortType = (t: string): string => t.replace(/^Tesouro /, "");

let dates: string[] = [];
if (!curveSource) {
  display(
    md`> **No Tesouro Direto data in this lake.** Neither \`gold/tesouro_yield_curve\` nor \`silver/tesouro_prices\` exists. Start the CDC pipeline (\`bun run cdc\`) and the lake jobs, then re-run this notebook.`,
  );
} else {
  const bad = params.dates.filter((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d));
  if (bad.length > 0) throw new Error(`param dates: expected YYYY-MM-DD, got ${bad.join(", ")}`);
  const badLookback = params.lookback.filter((l) => !/^\d+ (day|week|month|year)s?$/.test(l));
  if (badLookback.length > 0)
    throw new Error(`param lookback: expected e.g. "1 month", got ${badLookback.join(", ")}`);
  const available = await lake.query<{ base_date: string }>(
    `SELECT DISTINCT base_date FROM ${curveSource} ORDER BY base_date DESC`,
  );
  const latest = available[0]?.base_date;
  // The latest date and, for each lookback, the latest date on or before it (holidays have no quotes).
  const back = latest
    ? params.lookback.map((l) => available.find((a) => a.base_date <= shiftDate(latest, l))?.base_date)
    : [];
  dates =
    params.dates.length > 0
      ? params.dates.filter((d) => available.some((a) => a.base_date === d))
      : [...new Set([latest, ...back].filter((d): d is string => d !== undefined))];
  const missing = params.dates.filter((d) => !dates.includes(d));
  display(
    md`Curve source: \`${curveSource.startsWith("gold") ? "gold/tesouro_yield_curve" : "silver/tesouro_prices"}\` · ${available.length} base dates from ${available[available.length - 1]?.base_date ?? "–"} to ${latest ?? "–"} · showing ${dates.join(", ") || "none"}${missing.length ? ` · not in the lake: ${missing.join(", ")}` : ""}`,
  );
}

/** `date` moved back by a lookback like "1 month" (calendar arithmetic, UTC, no time of day). */
function shiftDate(date: string, lookback: string): string {
  const [n = "0", unit = "day"] = lookback.split(" ");
  const d = new Date(`${date}T00:00:00Z`);
  const k = Number(n);
  if (unit.startsWith("year")) d.setUTCFullYear(d.getUTCFullYear() - k);
  else if (unit.startsWith("month")) d.setUTCMonth(d.getUTCMonth() - k);
  else d.setUTCDate(d.getUTCDate() - k * (unit.startsWith("week") ? 7 : 1));
  return d.toISOString().slice(0, 10);
}

// %% [markdown]
// ## Yield curves
//
// The buy rate (what an investor locks in) against years to maturity, one line per base date:
// the latest, and the curves a month and a year before it. Prefixado bonds pay a nominal rate,
// IPCA+ a real rate above inflation, and Selic a spread over the policy rate, so each type has its
// own chart. A type quoting a single maturity has no curve to draw: it is named, with its rates.

// %% Yield curves
if (curveSource && dates.length > 0) {
  const curve = await lake.query<{
    bond_type: string;
    base_date: string;
    maturity_date: string;
    years_to_maturity: number;
    buy_rate: string;
  }>(`
    SELECT bond_type, base_date, maturity_date, years_to_maturity, buy_rate
    FROM ${curveSource}
    WHERE base_date IN (${dates.map((d) => `DATE '${d}'`).join(", ")}) ${typeFilter}
    ORDER BY bond_type, base_date, years_to_maturity`);
  const single: string[] = [];
  for (const type of [...new Set(curve.map((c) => c.bond_type))]) {
    const rows = curve.filter((c) => c.bond_type === type);
    // A curve needs two maturities on the same date; dates with one are left out of the chart.
    const perDate = Map.groupBy(rows, (r) => r.base_date);
    const curveDates = dates.filter((d) => (perDate.get(d)?.length ?? 0) >= 2);
    if (curveDates.length === 0) {
      const quotes = rows.map((r) => `${r.buy_rate} % on ${r.base_date}`).join(", ");
      single.push(`**${type}** quotes one maturity (${rows[0]?.maturity_date ?? "–"}): ${quotes}`);
      continue;
    }
    const left = dates.filter((d) => perDate.has(d) && !curveDates.includes(d));
    display(
      await lineChart(
        rows
          .filter((r) => curveDates.includes(r.base_date))
          .map((r) => ({ x: r.years_to_maturity, y: r.buy_rate, series: r.base_date })),
        {
          title: `${type} · yield curve${left.length ? ` (one maturity on ${left.join(", ")}: not drawn)` : ""}`,
          xType: "quantitative",
          xTitle: "years to maturity",
          yTitle: "buy rate (% a.a.)",
          seriesTitle: "base date",
          points: true,
          height: 200,
        },
      ),
    );
  }
  if (single.length > 0) {
    display(
      md`No curve for a single maturity (a curve needs two):\n\n${single.map((s) => `- ${s}`).join("\n")}`,
    );
  }
  const latest = dates[0];
  if (latest) {
    const rows = await lake.query(`
      SELECT bond_type, maturity_date, round(years_to_maturity, 2) AS years, buy_rate, sell_rate
      FROM ${curveSource} WHERE base_date = DATE '${latest}' ${typeFilter}
      ORDER BY bond_type, maturity_date`);
    display(md`Curve on **${latest}**:`, table(rows, { maxRows: 30 }));
  }
}

// %% [markdown]
// ## Spreads
//
// The difference between the rate at which the Treasury sells a bond and the rate at which it
// buys it back: the investor's round-trip cost. The Treasury sets it per bond type, so it rarely
// moves; the table says how often each type's spread differs from its usual value. What the
// spread costs in price grows with the bond's duration, which the chart shows on the latest date.

// %% Spreads
if (!lake.has("gold", "tesouro_spreads")) {
  display(md`> **No spreads.** \`gold/tesouro_spreads\` is not in this lake.`);
} else {
  const usual = await lake.query<{ bond_type: string; quotes: bigint; at_usual: bigint }>(`
    WITH s AS (
      SELECT bond_type, rate_spread_bps, count(*) AS n, min(base_date) AS first_date, max(base_date) AS last_date
      FROM gold.tesouro_spreads WHERE true ${typeFilter} GROUP BY ALL)
    SELECT bond_type, arg_max(rate_spread_bps, n) AS usual_spread_bps, sum(n) AS quotes, max(n) AS at_usual,
      min(rate_spread_bps) AS min_bps, max(rate_spread_bps) AS max_bps, min(first_date) AS since, max(last_date) AS until
    FROM s GROUP BY bond_type ORDER BY bond_type`);
  const quotes = usual.reduce((n, u) => n + Number(u.quotes), 0);
  const atUsual = usual.reduce((n, u) => n + Number(u.at_usual), 0);
  const flat = quotes > 0 && atUsual / quotes >= 0.99;
  display(
    md`**Rate spread per bond type** (sell − buy, basis points): ${atUsual} of ${quotes} quotes${quotes > atUsual ? ` (all but ${quotes - atUsual})` : ""} carry their type's usual spread${flat ? ", so over time each type would draw a flat line" : ""}.`,
    table(usual),
  );
  const exceptions = await lake.query(`
    WITH u AS (
      SELECT bond_type, arg_max(rate_spread_bps, n) AS usual_bps
      FROM (SELECT bond_type, rate_spread_bps, count(*) AS n FROM gold.tesouro_spreads WHERE true ${typeFilter} GROUP BY ALL)
      GROUP BY bond_type)
    SELECT s.base_date, s.bond_type, s.maturity_date, s.rate_spread_bps AS spread_bps, u.usual_bps
    FROM gold.tesouro_spreads s JOIN u USING (bond_type)
    WHERE s.rate_spread_bps <> u.usual_bps
    ORDER BY s.base_date DESC, s.bond_type, s.maturity_date LIMIT 10`);
  if (exceptions.length > 0) display(md`Latest quotes off their type's usual spread:`, table(exceptions));
  const cost = await lake.query<{ bond_type: string; years: number; price_spread_pct: string }>(`
    SELECT bond_type, (date_diff('day', base_date, maturity_date) / 365.25)::DOUBLE AS years, price_spread_pct
    FROM gold.tesouro_spreads
    WHERE base_date = (SELECT max(base_date) FROM gold.tesouro_spreads) AND price_spread_pct IS NOT NULL ${typeFilter}
    ORDER BY bond_type, years`);
  display(
    await lineChart(
      cost.map((c) => ({ x: c.years, y: c.price_spread_pct, series: shortType(c.bond_type) })),
      {
        title: "What the spread costs: (buy − sell price) / buy price on the latest base date",
        xType: "quantitative",
        xTitle: "years to maturity",
        yTitle: "price spread (%)",
        seriesTitle: "bond type",
        points: true,
        height: 220,
      },
    ),
  );
}

// %% [markdown]
// ## Daily changes
//
// Day-over-day change of the buy rate in basis points, averaged over each type's bonds: the net
// move per month over the whole history, then day by day over the last trading days, and the
// bonds that moved most on the latest date. Rates up (orange) means prices down.

// %% Daily changes
if (!lake.has("gold", "tesouro_daily_change")) {
  display(md`> **No daily changes.** \`gold/tesouro_daily_change\` is not in this lake.`);
} else {
  // Per bond the month's changes add up to its net move; the type's cell is the mean over its bonds.
  const monthly = await lake.query<{ month: string; label: string; bond_type: string; net_bp: number }>(`
    WITH per_bond AS (
      SELECT bond_type, maturity_date, date_trunc('month', base_date) AS month, sum(buy_rate_change_pp) AS net_pp
      FROM gold.tesouro_daily_change WHERE buy_rate_change_pp IS NOT NULL ${typeFilter} GROUP BY ALL)
    SELECT strftime(month, '%Y-%m') AS month, strftime(month, '%b %y') AS label, bond_type,
      round(100 * avg(net_pp), 0)::DOUBLE AS net_bp
    FROM per_bond GROUP BY ALL ORDER BY month, bond_type`);
  const recentDays = Math.max(1, Math.trunc(params.recentDays));
  const daily = await lake.query<{ base_date: string; bond_type: string; change_bp: number }>(`
    WITH recent AS (
      SELECT DISTINCT base_date FROM gold.tesouro_daily_change ORDER BY base_date DESC LIMIT ${recentDays})
    SELECT base_date, bond_type, round(100 * avg(buy_rate_change_pp), 1)::DOUBLE AS change_bp
    FROM gold.tesouro_daily_change JOIN recent USING (base_date)
    WHERE buy_rate_change_pp IS NOT NULL ${typeFilter}
    GROUP BY ALL ORDER BY base_date, bond_type`);
  if (daily.length === 0) {
    display(md`> Only one base date so far: no day-over-day changes yet.`);
  } else {
    const types = [...new Set(daily.map((d) => shortType(d.bond_type)))].sort();
    const months = [...new Set(monthly.map((m) => m.label))];
    if (months.length >= 2) {
      display(
        await heatmap(
          monthly.map((m) => ({ x: m.label, y: shortType(m.bond_type), value: m.net_bp })),
          {
            title: `Net change of the buy rate per month (bp), ${monthly[0]?.month} to ${monthly[monthly.length - 1]?.month} (the first and last months may be partial)`,
            xTitle: "month",
            yTitle: "bond type",
            valueTitle: "bp",
            xOrder: months,
            yOrder: types,
            domainMid: 0,
            cellLabels: true,
            valueFormat: ".0f",
          },
        ),
      );
    }
    const days = [...new Set(daily.map((d) => d.base_date))];
    display(
      await heatmap(
        daily.map((d) => ({ x: d.base_date.slice(5), y: shortType(d.bond_type), value: d.change_bp })),
        {
          title: `Daily change of the buy rate (bp), last ${days.length} trading days to ${days[days.length - 1]}`,
          xTitle: "base date (MM-DD)",
          yTitle: "bond type",
          valueTitle: "bp",
          xOrder: days.map((d) => d.slice(5)),
          yOrder: types,
          domainMid: 0,
          cellLabels: true,
          valueFormat: ".0f",
        },
      ),
    );
    const movers = await lake.query(`
      SELECT bond_type, maturity_date, buy_rate, buy_rate_change_pp AS rate_change, buy_price, buy_price_change AS price_change
      FROM gold.tesouro_daily_change
      WHERE base_date = (SELECT max(base_date) FROM gold.tesouro_daily_change) AND buy_rate_change_pp IS NOT NULL ${typeFilter}
      ORDER BY abs(buy_rate_change_pp) DESC, bond_type, maturity_date LIMIT 10`);
    display(md`Largest moves on the latest base date:`, table(movers));
  }
}
