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
  lineChart,
  loadConfig,
  md,
  openLake,
  sqlList,
  table,
} from "@tributary/notebooks/kit";

const params = defineParams({
  /** Base dates (YYYY-MM-DD) to compare; empty picks the latest `latest` dates in the lake. */
  dates: [] as string[],
  latest: 3,
  /** Bond types to show; empty shows all. */
  bondTypes: [] as string[],
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

let dates: string[] = [];
if (!curveSource) {
  display(
    md`> **No Tesouro Direto data in this lake.** Neither \`gold/tesouro_yield_curve\` nor \`silver/tesouro_prices\` exists. Start the CDC pipeline (\`bun run cdc\`) and the lake jobs, then re-run this notebook.`,
  );
} else {
  const bad = params.dates.filter((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d));
  if (bad.length > 0) throw new Error(`param dates: expected YYYY-MM-DD, got ${bad.join(", ")}`);
  const available = await lake.query<{ base_date: string }>(
    `SELECT DISTINCT base_date FROM ${curveSource} ORDER BY base_date DESC`,
  );
  dates =
    params.dates.length > 0
      ? params.dates.filter((d) => available.some((a) => a.base_date === d))
      : available.slice(0, Math.max(1, Math.trunc(params.latest))).map((a) => a.base_date);
  const missing = params.dates.filter((d) => !dates.includes(d));
  display(
    md`Curve source: \`${curveSource.startsWith("gold") ? "gold/tesouro_yield_curve" : "silver/tesouro_prices"}\` · ${available.length} base dates from ${available[available.length - 1]?.base_date ?? "–"} to ${available[0]?.base_date ?? "–"} · showing ${dates.join(", ") || "none"}${missing.length ? ` · not in the lake: ${missing.join(", ")}` : ""}`,
  );
}

// %% [markdown]
// ## Yield curves
//
// The buy rate (what an investor locks in) against years to maturity, one line per base date.
// Prefixado bonds pay a nominal rate, IPCA+ a real rate above inflation, and Selic a spread over
// the policy rate, so each type has its own chart.

// %% Yield curves
if (curveSource && dates.length > 0) {
  const curve = await lake.query<{
    bond_type: string;
    base_date: string;
    years_to_maturity: number;
    buy_rate: string;
  }>(`
    SELECT bond_type, base_date, years_to_maturity, buy_rate
    FROM ${curveSource}
    WHERE base_date IN (${dates.map((d) => `DATE '${d}'`).join(", ")}) ${typeFilter}
    ORDER BY bond_type, base_date, years_to_maturity`);
  const types = [...new Set(curve.map((c) => c.bond_type))];
  for (const type of types) {
    display(
      await lineChart(
        curve
          .filter((c) => c.bond_type === type)
          .map((c) => ({ x: c.years_to_maturity, y: c.buy_rate, series: c.base_date })),
        {
          title: `${type} · yield curve`,
          xType: "quantitative",
          xTitle: "years to maturity",
          yTitle: "buy rate (% a.a.)",
          seriesTitle: "base date",
          points: true,
          height: 220,
        },
      ),
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
// ## Spreads over time
//
// The difference between the rate at which the Treasury buys a bond back and the rate at which it
// sells it, averaged per bond type: the investor's round-trip cost in rate terms.

// %% Spreads
if (!lake.has("gold", "tesouro_spreads")) {
  display(md`> **No spreads.** \`gold/tesouro_spreads\` is not in this lake.`);
} else {
  const spreads = await lake.query<{
    base_date: string;
    bond_type: string;
    rate_spread: number;
    bonds: bigint;
  }>(`
    SELECT base_date, bond_type, avg(rate_spread_pp)::DOUBLE AS rate_spread, count(*) AS bonds
    FROM gold.tesouro_spreads WHERE true ${typeFilter}
    GROUP BY ALL ORDER BY base_date, bond_type`);
  display(
    await lineChart(
      spreads.map((s) => ({ x: s.base_date, y: s.rate_spread, series: s.bond_type })),
      {
        title: "Mean rate spread (sell − buy) by bond type",
        xTitle: "base date",
        yTitle: "spread (p.p.)",
        points: true,
        zeroY: true,
        height: 200,
      },
    ),
  );
  const wide = await lake.query(`
    SELECT bond_type, maturity_date, rate_spread_pp AS rate_spread, price_spread
    FROM gold.tesouro_spreads
    WHERE base_date = (SELECT max(base_date) FROM gold.tesouro_spreads) ${typeFilter}
    ORDER BY rate_spread DESC, bond_type, maturity_date LIMIT 10`);
  display(md`Widest spreads on the latest base date:`, table(wide));
}

// %% [markdown]
// ## Daily changes
//
// Day-over-day change of the buy rate, averaged per bond type, and the bonds that moved most on
// the latest date. Rates up means prices down.

// %% Daily changes
if (!lake.has("gold", "tesouro_daily_change")) {
  display(md`> **No daily changes.** \`gold/tesouro_daily_change\` is not in this lake.`);
} else {
  const changes = await lake.query<{ base_date: string; bond_type: string; rate_change_bp: number }>(`
    SELECT base_date, bond_type, (100 * avg(buy_rate_change_pp))::DOUBLE AS rate_change_bp
    FROM gold.tesouro_daily_change WHERE buy_rate_change_pp IS NOT NULL ${typeFilter}
    GROUP BY ALL ORDER BY base_date, bond_type`);
  if (changes.length === 0) {
    display(md`> Only one base date so far: no day-over-day changes yet.`);
  } else {
    display(
      // A line per bond type over dated days (a category per date would smear 8 × 360 labels).
      await lineChart(
        changes.map((c) => ({ x: c.base_date, y: c.rate_change_bp, series: c.bond_type })),
        {
          title: "Mean daily change of the buy rate",
          yTitle: "change (bp)",
          xTitle: "base date",
          seriesTitle: "bond type",
          intervalMs: 86_400_000,
          height: 220,
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
