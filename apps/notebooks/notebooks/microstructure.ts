// %% [markdown]
// # Market microstructure
//
// How trading happens, trade by trade, from `silver/kraken_trades` and the 1-minute candles:
// the distribution of trade sizes, the balance between aggressive buyers and sellers, realized
// volatility, and when in the week volatility concentrates. All times are UTC.

// %% Setup
import {
  barChart,
  defineParams,
  display,
  heatmap,
  histogram,
  lineChart,
  loadConfig,
  md,
  openLake,
  sqlList,
  table,
} from "@tributary/notebooks/kit";

const params = defineParams({
  symbols: ["BTC/USD", "ETH/USD"],
  /** Analysis window, ending at the latest trade in the lake. */
  hours: 48,
  /** Bucket size of the order-flow imbalance chart. */
  bucketMinutes: 15,
});
const hours = Math.max(1, Math.trunc(params.hours));
const bucketMinutes = Math.max(1, Math.trunc(params.bucketMinutes));

await using lake = await openLake(loadConfig());
const hasTrades = lake.has("silver", "kraken_trades");
const hasMinute = lake.has("gold", "candles_1m");
const symbols = sqlList(params.symbols);
const tradesWindow = `ts > (SELECT max(ts) FROM silver.kraken_trades) - to_hours(${hours}) AND symbol IN (${symbols})`;
display(md`Lake: \`${lake.uri}\` · symbols: ${params.symbols.join(", ")} · window: last ${hours} h`);
if (!hasTrades) {
  display(
    md`> **No trades.** \`silver/kraken_trades\` is not in this lake; the trade-level sections are skipped.`,
  );
}

// %% [markdown]
// ## Trade size distribution
//
// Notional value of each trade (price × quantity, in the quote currency) on a log scale: most
// trades are small, and a thin tail of large trades carries much of the volume.

// %% Trade sizes
if (hasTrades) {
  const sizes = await lake.query<{ symbol: string; notional: number }>(`
    SELECT symbol, (price * qty)::DOUBLE AS notional
    FROM silver.kraken_trades WHERE ${tradesWindow}`);
  const bySymbol: Record<string, number[]> = {};
  for (const s of sizes) {
    const list = bySymbol[s.symbol] ?? [];
    list.push(s.notional);
    bySymbol[s.symbol] = list;
  }
  display(
    await histogram(bySymbol, {
      title: `Trade notional, last ${hours} h`,
      xTitle: "trade notional (quote currency, log scale)",
      yTitle: "trades",
      bins: 40,
      logX: true,
    }),
  );
  const stats = await lake.query(`
    WITH t AS (SELECT symbol, (price * qty)::DOUBLE AS notional FROM silver.kraken_trades WHERE ${tradesWindow}),
    ranked AS (SELECT *, percent_rank() OVER (PARTITION BY symbol ORDER BY notional) AS pr FROM t)
    SELECT symbol, count(*) AS trades,
      round(median(notional), 2) AS p50_notional,
      round(quantile_cont(notional, 0.9), 2) AS p90_notional,
      round(quantile_cont(notional, 0.99), 2) AS p99_notional,
      round(max(notional), 2) AS max_notional,
      round(100 * sum(notional) FILTER (WHERE pr >= 0.99) / sum(notional), 1) AS top1pct_share_of_volume_pct
    FROM ranked GROUP BY symbol ORDER BY symbol`);
  display(table(stats));
}

// %% [markdown]
// ## Buy/sell imbalance
//
// Order-flow imbalance per bucket: (buy volume − sell volume) / total volume, where the side is
// the aggressor's. +1 means only buyers lifted offers, −1 only sellers hit bids.

// %% Imbalance
if (hasTrades) {
  const flow = await lake.query<{ bucket: string; symbol: string; imbalance: number }>(`
    SELECT time_bucket(to_minutes(${bucketMinutes}), ts) AS bucket, symbol,
      ((sum(qty) FILTER (WHERE side = 'buy') - sum(qty) FILTER (WHERE side = 'sell')) / sum(qty))::DOUBLE AS imbalance
    FROM silver.kraken_trades WHERE ${tradesWindow}
    GROUP BY ALL ORDER BY bucket`);
  for (const symbol of params.symbols) {
    const bars = flow.filter((f) => f.symbol === symbol && f.imbalance !== null);
    if (bars.length === 0) {
      display(md`> No trades for **${symbol}** in the window.`);
      continue;
    }
    display(
      await barChart(
        bars.map((b) => ({ x: b.bucket, y: b.imbalance })),
        {
          title: `${symbol} · order-flow imbalance per ${bucketMinutes} min`,
          yTitle: "imbalance",
          intervalMs: bucketMinutes * 60_000,
          signColors: true,
          yFormat: "+.0%",
          height: 180,
        },
      ),
    );
  }
  const sides = await lake.query(`
    SELECT symbol,
      count(*) FILTER (WHERE side = 'buy') AS buy_trades,
      count(*) FILTER (WHERE side = 'sell') AS sell_trades,
      sum(qty) FILTER (WHERE side = 'buy') AS buy_volume,
      sum(qty) FILTER (WHERE side = 'sell') AS sell_volume,
      round(100 * (sum(qty) FILTER (WHERE side = 'buy')) / sum(qty), 2) AS buy_share_pct
    FROM silver.kraken_trades WHERE ${tradesWindow}
    GROUP BY symbol ORDER BY symbol`);
  display(table(sides));
}

// %% [markdown]
// ## Realized volatility
//
// Hourly realized volatility: the square root of the sum of squared 1-minute log returns of the
// close within each hour, in percent. It measures how much the price actually moved.

// %% Realized volatility
interface VolRow {
  readonly symbol: string;
  readonly hour: string;
  readonly realized_vol_pct: number;
  readonly weekday: string;
  readonly hour_of_day: number;
  readonly isodow: number;
}
let vol: VolRow[] = [];
if (!hasMinute) {
  display(md`> **No 1-minute candles.** \`gold/candles_1m\` is not in this lake; volatility is skipped.`);
} else {
  vol = await lake.query<VolRow>(`
    WITH c AS (
      SELECT symbol, bucket_start, ln(close::DOUBLE / lag(close::DOUBLE) OVER (PARTITION BY symbol ORDER BY bucket_start)) AS r
      FROM gold.candles_1m
      WHERE symbol IN (${symbols})
        AND bucket_start > (SELECT max(bucket_start) FROM gold.candles_1m) - to_hours(${hours})
    )
    SELECT symbol, time_bucket(INTERVAL 1 HOUR, bucket_start) AS hour,
      100 * sqrt(sum(r * r)) AS realized_vol_pct,
      dayname(time_bucket(INTERVAL 1 HOUR, bucket_start)) AS weekday,
      hour(time_bucket(INTERVAL 1 HOUR, bucket_start)) AS hour_of_day,
      isodow(time_bucket(INTERVAL 1 HOUR, bucket_start)) AS isodow
    FROM c WHERE r IS NOT NULL
    GROUP BY ALL ORDER BY hour`);
  display(
    await lineChart(
      vol.map((v) => ({ x: v.hour, y: v.realized_vol_pct, series: v.symbol })),
      {
        title: `Hourly realized volatility, last ${hours} h`,
        yTitle: "realized vol (%)",
        zeroY: true,
        points: true,
      },
    ),
  );
}

// %% [markdown]
// ## When is the market volatile?
//
// Average hourly realized volatility by hour of day (UTC) and weekday. With more history in the
// lake the pattern of sessions (Asia, Europe, US) shows up here.

// %% Volatility heatmap
if (vol.length > 0) {
  const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  for (const symbol of params.symbols) {
    const cells = new Map<string, { sum: number; n: number; weekday: string; hour: number }>();
    for (const v of vol.filter((x) => x.symbol === symbol)) {
      const key = `${v.weekday}|${v.hour_of_day}`;
      const cell = cells.get(key) ?? { sum: 0, n: 0, weekday: v.weekday, hour: v.hour_of_day };
      cell.sum += v.realized_vol_pct;
      cell.n += 1;
      cells.set(key, cell);
    }
    if (cells.size === 0) continue;
    const present = days.filter((d) => [...cells.values()].some((c) => c.weekday === d));
    display(
      await heatmap(
        [...cells.values()].map((c) => ({ x: c.hour, y: c.weekday, value: c.sum / c.n })),
        {
          title: `${symbol} · mean hourly realized volatility by hour × weekday`,
          xTitle: "hour of day (UTC)",
          yTitle: "weekday",
          valueTitle: "vol (%)",
          xOrder: Array.from({ length: 24 }, (_, h) => h),
          yOrder: present,
          valueFormat: ".2f",
        },
      ),
    );
  }
  if (lake.has("gold", "daily_summary")) {
    const summary = await lake.query(`
      SELECT symbol, day, round(100 * realized_vol, 3) AS realized_vol_pct, round(100 * return, 3) AS return_pct,
        round(100 * max_drawdown, 3) AS max_drawdown_pct, trade_count
      FROM gold.daily_summary WHERE symbol IN (${symbols}) ORDER BY day DESC, symbol LIMIT 14`);
    display(md`Daily summary from \`gold/daily_summary\` (latest days):`, table(summary));
  }
} else if (hasMinute) {
  display(md`> Not enough 1-minute candles in the window for a heatmap.`);
}
