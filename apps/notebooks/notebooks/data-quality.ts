// %% [markdown]
// # Data quality
//
// Can the lake be trusted? Completeness per hour, gaps in Kraken's per-pair `trade_id` sequence,
// duplicates removed and records quarantined by the silver jobs, and how fresh each dataset is.
// The gold `data_quality_hourly` figures are cross-checked against an independent recount from
// `silver/kraken_trades`. All times are UTC.

// %% Setup
import {
  barChart,
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
  symbols: ["BTC/USD", "ETH/USD"],
  /** Window, ending at the latest hour in the lake. */
  hours: 48,
});
const hours = Math.max(1, Math.trunc(params.hours));
const symbols = sqlList(params.symbols);

await using lake = await openLake(loadConfig());
const hasQuality = lake.has("gold", "data_quality_hourly");
const hasTrades = lake.has("silver", "kraken_trades");
display(md`Lake: \`${lake.uri}\` · ${lake.datasets().length} datasets · window: last ${hours} h`);
display(table(lake.datasets().map((d) => ({ layer: d.layer, dataset: d.dataset, files: d.files }))));
const qualityWindow = `symbol IN (${symbols}) AND hour > (SELECT max(hour) FROM gold.data_quality_hourly) - to_hours(${hours})`;
if (!hasQuality) {
  display(
    md`> **No quality metrics.** \`gold/data_quality_hourly\` is not in this lake; only the silver recounts run.`,
  );
}

// %% [markdown]
// ## Completeness per hour
//
// Share of trades present: rows / (rows + trades missing from `trade_id` gaps), per symbol, day
// and hour of day. 100% means every trade Kraken numbered reached silver.

// %% Completeness
if (hasQuality) {
  const rows = await lake.query<{
    symbol: string;
    day: string;
    hour_of_day: number;
    completeness_pct: number;
  }>(`
    SELECT symbol, hour::DATE::VARCHAR AS day, hour(hour) AS hour_of_day,
      (100.0 * rows / nullif(rows + missing_trades, 0))::DOUBLE AS completeness_pct
    FROM gold.data_quality_hourly WHERE ${qualityWindow}
    ORDER BY symbol, day, hour_of_day`);
  const lanes = [...new Set(rows.map((r) => `${r.symbol} · ${r.day}`))];
  display(
    await heatmap(
      rows.map((r) => ({ x: r.hour_of_day, y: `${r.symbol} · ${r.day}`, value: r.completeness_pct })),
      {
        title: "Completeness per hour (%)",
        xTitle: "hour of day (UTC)",
        yTitle: "symbol · day",
        valueTitle: "complete (%)",
        xOrder: Array.from({ length: 24 }, (_, h) => h),
        yOrder: lanes,
        scheme: "redyellowgreen",
        valueFormat: ".2f",
      },
    ),
  );
  const worst = await lake.query(`
    SELECT symbol, hour, rows, missing_trades,
      round(100.0 * rows / nullif(rows + missing_trades, 0), 3) AS completeness_pct
    FROM gold.data_quality_hourly WHERE ${qualityWindow} AND missing_trades > 0
    ORDER BY completeness_pct, hour, symbol LIMIT 10`);
  display(
    worst.length === 0 ? md`Every hour in the window is complete.` : md`Least complete hours:`,
    ...(worst.length === 0 ? [] : [table(worst)]),
  );
}

// %% [markdown]
// ## Trade id gaps
//
// Kraken numbers trades per pair. A jump in `trade_id` means trades never reached the lake.
// The gold figures come from the quality job; the recount reads silver directly.

// %% Gaps
if (hasQuality) {
  const gaps = await lake.query<{ hour: string; symbol: string; missing_trades: bigint }>(`
    SELECT hour, symbol, missing_trades FROM gold.data_quality_hourly WHERE ${qualityWindow} ORDER BY hour, symbol`);
  display(
    await barChart(
      gaps.map((g) => ({ x: g.hour, y: g.missing_trades, series: g.symbol })),
      {
        title: "Trades missing from trade_id gaps, per hour",
        yTitle: "missing trades",
        intervalMs: 3_600_000,
        height: 180,
      },
    ),
  );
}
if (hasTrades) {
  const recount = await lake.query(`
    WITH t AS (
      SELECT symbol, trade_id, ts,
        lag(trade_id) OVER (PARTITION BY symbol ORDER BY trade_id) AS prev_id
      FROM silver.kraken_trades
      WHERE symbol IN (${symbols}) AND ts > (SELECT max(ts) FROM silver.kraken_trades) - to_hours(${hours})
    )
    SELECT symbol, prev_id AS last_before_gap, trade_id AS first_after_gap, trade_id - prev_id - 1 AS missing, ts AS resumed_at
    FROM t WHERE trade_id - prev_id > 1 ORDER BY resumed_at, symbol`);
  const total = recount.reduce((n, r) => n + Number(r.missing as bigint), 0);
  display(
    md`**Silver recount:** ${recount.length} gap${recount.length === 1 ? "" : "s"}, ${total} missing trade id${total === 1 ? "" : "s"} in the window.`,
  );
  if (recount.length > 0) display(table(recount));
  if (hasQuality) {
    const [gold] = await lake.query<{ missing: bigint | null }>(
      `SELECT sum(missing_trades) AS missing FROM gold.data_quality_hourly WHERE ${qualityWindow}`,
    );
    const goldMissing = Number(gold?.missing ?? 0n);
    display(
      md`${goldMissing === total ? "✓" : "⚠"} Gold reports ${goldMissing} missing trades; the silver recount finds ${total}.${
        goldMissing === total
          ? ""
          : " The windows may differ at their edges, or one of the jobs is wrong: investigate."
      }`,
    );
  }
}

// %% [markdown]
// ## Duplicates and quarantine
//
// Duplicates are trades delivered twice (a reconnect, a REST backfill overlapping the WebSocket)
// and removed by silver's deduplication on `(exchange, symbol, trade_id)`. Quarantined records
// failed validation and were set aside with a reason instead of being dropped.

// %% Duplicates and quarantine
if (hasQuality) {
  const perHour = await lake.query<{ hour: string; duplicates: bigint; quarantined: bigint; late: bigint }>(`
    SELECT hour, sum(duplicates_removed) AS duplicates, sum(quarantined) AS quarantined, sum(late_arrivals) AS late
    FROM gold.data_quality_hourly WHERE ${qualityWindow} GROUP BY hour ORDER BY hour`);
  display(
    await barChart(
      perHour.flatMap((h) => [
        { x: h.hour, y: h.duplicates, series: "duplicates removed" },
        { x: h.hour, y: h.quarantined, series: "quarantined" },
      ]),
      {
        title: "Duplicates removed and records quarantined, per hour",
        yTitle: "records",
        intervalMs: 3_600_000,
        height: 180,
      },
    ),
  );
  const totals = await lake.query(`
    SELECT symbol, sum(rows) AS rows, sum(duplicates_removed) AS duplicates_removed, sum(quarantined) AS quarantined,
      sum(late_arrivals) AS late_arrivals, sum(trade_id_gaps) AS trade_id_gaps, sum(missing_trades) AS missing_trades
    FROM gold.data_quality_hourly WHERE ${qualityWindow} GROUP BY symbol ORDER BY symbol`);
  display(table(totals));
}
if (hasTrades) {
  const [dupes] = await lake.query<{ rows: bigint; distinct_keys: bigint }>(`
    SELECT count(*) AS rows, count(DISTINCT (exchange, symbol, trade_id)) AS distinct_keys
    FROM silver.kraken_trades WHERE symbol IN (${symbols})`);
  const extra = dupes ? dupes.rows - dupes.distinct_keys : 0n;
  display(
    md`${extra === 0n ? "✓" : "✗"} **Silver uniqueness:** ${dupes?.rows ?? 0n} rows, ${extra} duplicate${extra === 1n ? "" : "s"} on \`(exchange, symbol, trade_id)\`.`,
  );
}

// %% [markdown]
// ## Reconciliation with Kraken's own candles
//
// Kraken's committed 1-minute OHLC (the scheduled job `ingest.kraken_ohlc` → `silver/kraken_ohlc_1m`)
// compared with our `candles_1m`, minute by minute (`gold/candle_reconciliation`): open, high, low,
// close, volume and trade count exactly, vwap within Kraken's last printed digit.

// %% Reconciliation
if (hasQuality && lake.has("gold", "candle_reconciliation")) {
  const perHour = await lake.query<{ hour: string; checked: bigint; mismatched: bigint }>(`
    SELECT hour, sum(kraken_ohlc_minutes_checked) AS checked, sum(kraken_ohlc_minutes_mismatched) AS mismatched
    FROM gold.data_quality_hourly WHERE ${qualityWindow} AND kraken_ohlc_minutes_checked > 0
    GROUP BY hour ORDER BY hour`);
  display(
    await barChart(
      perHour.flatMap((h) => [
        { x: h.hour, y: h.checked - h.mismatched, series: "agree" },
        { x: h.hour, y: h.mismatched, series: "disagree" },
      ]),
      {
        title: "Minutes compared with Kraken's OHLC, per hour",
        yTitle: "minutes",
        intervalMs: 3_600_000,
        height: 180,
      },
    ),
  );
  const disagreements = await lake.query(`
    SELECT symbol, minute, mismatched_fields, kraken_high, high, kraken_low, low, kraken_volume, base_volume,
      kraken_trade_count, trade_count
    FROM gold.candle_reconciliation
    WHERE status = 'disagree' AND symbol IN (${symbols})
      AND minute > (SELECT max(minute) FROM gold.candle_reconciliation) - to_hours(${hours})
    ORDER BY minute DESC LIMIT 20`);
  display(
    md`${disagreements.length === 0 ? "✓ Every compared minute agrees." : `Latest disagreements (at most 20), with the fields that differ:`}`,
  );
  if (disagreements.length > 0) display(table(disagreements));
} else {
  display(
    md`> **No reconciliation.** \`gold/candle_reconciliation\` is not in this lake (no Kraken OHLC fetched yet).`,
  );
}

// %% [markdown]
// ## Freshness
//
// Per hour, the quality job's freshness (seconds from a trade's exchange time to its commit in
// the lake), and now, the age of the newest record of each dataset at the time of this run.

// %% Freshness
if (hasQuality) {
  const fresh = await lake.query<{ hour: string; symbol: string; freshness_s: number }>(`
    SELECT hour, symbol, freshness_s FROM gold.data_quality_hourly WHERE ${qualityWindow} ORDER BY hour, symbol`);
  display(
    await lineChart(
      fresh.map((f) => ({ x: f.hour, y: f.freshness_s, series: f.symbol })),
      { title: "Freshness per hour", yTitle: "seconds", zeroY: true, height: 180 },
    ),
  );
}
const ages: Record<string, unknown>[] = [];
// A bucketed dataset's newest row covers up to its bucket's end, not its start: age counts from the end.
const newest: readonly (readonly ["silver" | "gold", string, string, number])[] = [
  ["silver", "kraken_trades", "ts", 0],
  ["silver", "kraken_ticker", "ts", 0],
  ["gold", "candles_1m", "bucket_start", 60],
  ["gold", "market_metrics_1m", "minute", 60],
  ["gold", "data_quality_hourly", "hour", 3600],
];
for (const [layer, dataset, column, bucketSeconds] of newest) {
  if (!lake.has(layer, dataset)) {
    ages.push({ dataset: `${layer}/${dataset}`, newest: null, age: "absent" });
    continue;
  }
  // A bucket still open at run time (its end after now) is as fresh as it gets: age 0, said so.
  const [row] = await lake.query<{ newest: string | null; age_s: number | null; open: boolean | null }>(`
    WITH m AS (SELECT max(${column}) + to_seconds(${bucketSeconds}) AS covered FROM ${layer}.${dataset})
    SELECT covered AS newest, greatest(date_diff('second', covered, now()), 0)::DOUBLE AS age_s,
           covered > now() AS open FROM m`);
  const age = row?.age_s ?? null;
  ages.push({
    dataset: `${layer}/${dataset}`,
    newest: row?.newest ?? null,
    age:
      age === null
        ? "empty"
        : row?.open
          ? "0 s (bucket still open)"
          : age < 120
            ? `${age} s`
            : age < 7200
              ? `${(age / 60).toFixed(1)} min`
              : `${(age / 3600).toFixed(1)} h`,
  });
}
display(
  md`Newest data per dataset at run time (for bucketed datasets, the end of the newest bucket):`,
  table(ages),
);
