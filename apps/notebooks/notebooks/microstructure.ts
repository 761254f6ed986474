// %% [markdown]
// # Market microstructure
//
// How trading happens, trade by trade, from `silver/kraken_trades` and the 1-minute candles:
// the distribution of trade sizes, the balance between aggressive buyers and sellers, realized
// volatility, and when in the week volatility concentrates; then the order book from its gold
// datasets: spread, microprice, depth and imbalance next to the trades, and checksum health.
// All times are UTC.

// %% Setup
import {
  barChart,
  candlestick,
  defineParams,
  display,
  heatmap,
  histogram,
  lineChart,
  loadConfig,
  md,
  openLake,
  STACKED_Y_AXIS_WIDTH,
  sqlList,
  sqlString,
  table,
} from "@tributary/notebooks/kit";

const params = defineParams({
  symbols: ["BTC/USD", "ETH/USD"],
  /** Analysis window, ending at the latest trade in the lake. */
  hours: 48,
  /** Bucket size of the order-flow imbalance chart. */
  bucketMinutes: 15,
  /** Window of the order-book section, ending at the latest second of the book in the lake. */
  bookHours: 6,
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

// %% [markdown]
// ## The order book
//
// The book per second from `gold/book_1s` (built from the checksum-verified level-2 feed), averaged
// over the seconds the lake knows in each bucket and drawn over the same window and buckets as the
// trades' candles. Per symbol: the quoted spread, and where the microprice sits against the mid (the
// size-weighted price leans towards the side with less quantity at the top); the quantity resting
// within 10, 25 and 50 bps of the mid, bids stacked above zero and asks below, one colour per band;
// and the imbalance of the top of book and of the depth within 25 bps, next to the imbalance of the
// trades' own order flow. Seconds inside a gap (a checksum mismatch, a WebSocket drop, a restart)
// are not known and do not count.

// %% Order book over time
/** Bucket sizes (minutes) the book charts may use: the smallest that keeps a chart within MAX_BUCKETS. */
const BOOK_BUCKETS_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440];
/** Buckets per chart: the depth chart stacks up to six bars a bucket (three bands a side), so 360 at most. */
const MAX_BUCKETS = 60;
const bookHours = Math.max(1, Math.trunc(params.bookHours));
interface BookWindow {
  readonly start: string;
  readonly end: string;
  readonly bucketMin: number;
}
let bookWindow: BookWindow | undefined;
/** Depth bands as stacked bars: the band's name, the inner and the outer edge (bps). */
const DEPTH_BANDS = [
  ["0–10 bps", undefined, "10"],
  ["10–25 bps", "10", "25"],
  ["25–50 bps", "25", "50"],
] as const;
/** Quantity within `outer` but not within `inner` (all of it without an inner edge). */
const increment = (outer: number | null, inner: number | null | undefined): number | null =>
  outer === null ? null : outer - (inner ?? 0);
const negate = (x: number | null): number | null => (x === null ? null : -x);
if (!lake.has("gold", "book_1s")) {
  display(
    md`> **No order-book data in this lake.** \`gold/book_1s\` is not in it. Run the ingester with the book enabled (\`KRAKEN_BOOK_DEPTH=10\`, the default, or \`bun run ingest --book-depth 10\`; \`off\` disables it) and the lake's \`silver.book\` and \`gold.book\` jobs, then re-run this notebook.`,
  );
} else {
  const [extent] = await lake.query<{ first: string | null; last: string | null }>(`
    SELECT min(second) AS first, max(second) AS last FROM gold.book_1s WHERE symbol IN (${symbols})`);
  if (!extent?.first || !extent.last) {
    display(
      md`> **No order-book data for ${params.symbols.join(", ")}** in \`gold/book_1s\`. Is the ingester's book enabled for these symbols (\`KRAKEN_BOOK_DEPTH\`)?`,
    );
  } else {
    // The window ends with the latest known second (rows are the book at each second's end).
    const endMs = Date.parse(extent.last) + 1000;
    const startMs = Math.max(Date.parse(extent.first), endMs - bookHours * 3_600_000);
    const spanMin = (endMs - startMs) / 60_000;
    const bucketMin =
      BOOK_BUCKETS_MIN.find((b) => spanMin / b <= MAX_BUCKETS) ?? (BOOK_BUCKETS_MIN.at(-1) as number);
    bookWindow = { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), bucketMin };
  }
}

if (bookWindow) {
  const { start, end, bucketMin } = bookWindow;
  const bucket = `to_minutes(${bucketMin})`;
  const covered = `${start.slice(0, 16).replace("T", " ")} → ${end.slice(0, 16).replace("T", " ")} UTC`;
  // Every chart of the section spans the same buckets with a y axis of the same width, so their plots
  // line up one under the other, pixel for pixel.
  const firstBucketMs = Math.floor(Date.parse(start) / (bucketMin * 60_000)) * bucketMin * 60_000;
  const lastBucketMs = Math.ceil(Date.parse(end) / (bucketMin * 60_000)) * bucketMin * 60_000;
  const aligned = { timeDomain: [firstBucketMs, lastBucketMs], yAxisWidth: STACKED_Y_AXIS_WIDTH } as const;
  const inBook = `symbol IN (${symbols}) AND second >= TIMESTAMPTZ ${sqlString(start)} AND second < TIMESTAMPTZ ${sqlString(end)}`;
  const book = await lake.query<{
    symbol: string;
    bucket: string;
    spread_bps: number | null;
    microprice_bps: number | null;
    imbalance: number | null;
    depth_imbalance_25bps: number | null;
    bid_10: number | null;
    bid_25: number | null;
    bid_50: number | null;
    ask_10: number | null;
    ask_25: number | null;
    ask_50: number | null;
  }>(`
    SELECT symbol, time_bucket(${bucket}, second) AS bucket,
      avg(spread_bps) AS spread_bps,
      avg(1e4 * (microprice - mid)::DOUBLE / mid::DOUBLE) AS microprice_bps,
      avg(imbalance) AS imbalance, avg(depth_imbalance_25bps) AS depth_imbalance_25bps,
      avg(bid_depth_10bps::DOUBLE) AS bid_10, avg(bid_depth_25bps::DOUBLE) AS bid_25, avg(bid_depth_50bps::DOUBLE) AS bid_50,
      avg(ask_depth_10bps::DOUBLE) AS ask_10, avg(ask_depth_25bps::DOUBLE) AS ask_25, avg(ask_depth_50bps::DOUBLE) AS ask_50
    FROM gold.book_1s WHERE ${inBook}
    GROUP BY ALL ORDER BY symbol, bucket`);
  const candles = hasMinute
    ? await lake.query<{
        symbol: string;
        bucket: string;
        open: string;
        high: string;
        low: string;
        close: string;
        base_volume: string;
        vwap: number | null;
        flow: number | null;
      }>(`
        SELECT symbol, time_bucket(${bucket}, bucket_start) AS bucket,
          arg_min(open, bucket_start) AS open, max(high) AS high, min(low) AS low, arg_max(close, bucket_start) AS close,
          sum(base_volume) AS base_volume, sum(quote_volume)::DOUBLE / nullif(sum(base_volume), 0)::DOUBLE AS vwap,
          ((sum(buy_volume) - sum(sell_volume))::DOUBLE / nullif(sum(base_volume), 0)::DOUBLE) AS flow
        FROM gold.candles_1m
        WHERE symbol IN (${symbols}) AND bucket_start >= TIMESTAMPTZ ${sqlString(start)} AND bucket_start < TIMESTAMPTZ ${sqlString(end)}
        GROUP BY ALL ORDER BY symbol, bucket`)
    : [];
  display(
    md`Window: ${covered} (the last ${bookHours} h of the book, or what the lake holds) · ${bucketMin}-minute buckets`,
  );
  for (const symbol of params.symbols) {
    const rows = book.filter((r) => r.symbol === symbol);
    if (rows.length === 0) {
      display(md`> No known order-book seconds for **${symbol}** in the window.`);
      continue;
    }
    const [base = "base", quote = "quote"] = symbol.split("/");
    const trades = candles.filter((c) => c.symbol === symbol);
    if (trades.length === 0) display(md`> No trades for **${symbol}** in the book's window.`);
    else
      display(
        await candlestick(
          trades.map((c) => ({
            start: c.bucket,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.base_volume,
            vwap: c.vwap,
          })),
          {
            title: `${symbol} · trades, ${bucketMin}-minute candles`,
            intervalMs: bucketMin * 60_000,
            priceTitle: `price (${quote})`,
            volumeTitle: `volume (${base})`,
            ...aligned,
            height: 200,
          },
        ),
      );
    display(
      await lineChart(
        rows.flatMap((r) => [
          { x: r.bucket, y: r.spread_bps, series: "spread" },
          { x: r.bucket, y: r.microprice_bps, series: "microprice − mid" },
        ]),
        {
          title: `${symbol} · spread and microprice against the mid`,
          yTitle: "bps of the mid",
          intervalMs: bucketMin * 60_000,
          ...aligned,
          height: 180,
        },
      ),
    );
    // Bands nest (10 within 25 within 50 bps): each bar is the quantity added by the next band out.
    const depth = rows.flatMap((r) =>
      DEPTH_BANDS.flatMap(([series, inner, outer]) => [
        { x: r.bucket, y: increment(r[`bid_${outer}`], inner && r[`bid_${inner}`]), series },
        { x: r.bucket, y: negate(increment(r[`ask_${outer}`], inner && r[`ask_${inner}`])), series },
      ]),
    );
    display(
      await barChart(
        depth.filter((d) => d.y !== null && d.y !== 0),
        {
          title: `${symbol} · depth near the mid: bids above zero, asks below`,
          yTitle: `quantity (${base})`,
          intervalMs: bucketMin * 60_000,
          seriesTitle: "distance from the mid",
          ...aligned,
          height: 200,
        },
      ),
    );
    const flow = new Map(trades.map((c) => [c.bucket, c.flow]));
    display(
      await lineChart(
        rows.flatMap((r) => [
          { x: r.bucket, y: r.imbalance, series: "top of book" },
          { x: r.bucket, y: r.depth_imbalance_25bps, series: "depth within 25 bps" },
          { x: r.bucket, y: flow.get(r.bucket) ?? null, series: "trades' order flow" },
        ]),
        {
          title: `${symbol} · imbalance: (bid − ask) / (bid + ask), trades (buy − sell) / volume`,
          yTitle: "imbalance",
          yFormat: "+.0%",
          intervalMs: bucketMin * 60_000,
          ...aligned,
          height: 180,
        },
      ),
    );
  }
  const stats = await lake.query(`
    SELECT symbol,
      round(100 * count(*) / ${(Date.parse(end) - Date.parse(start)) / 1000}, 2) AS known_pct,
      sum(updates) AS updates,
      round(median(spread_bps), 3) AS spread_p50, round(quantile_cont(spread_bps, 0.95), 3) AS spread_p95,
      round(avg(imbalance), 3) AS imbalance_mean,
      round(avg(bid_depth_25bps), 4)::DECIMAL(38,4) AS bid_25bps_mean, round(avg(ask_depth_25bps), 4)::DECIMAL(38,4) AS ask_25bps_mean
    FROM gold.book_1s WHERE ${inBook}
    GROUP BY symbol ORDER BY symbol`);
  display(
    table(stats, {
      caption: `The book over ${covered}: spread in bps, mean quantity within 25 bps of the mid`,
    }),
  );
}

// %% [markdown]
// ## Checksum health
//
// Every book update carries Kraken's CRC32 of the top ten levels, verified by the ingester after
// applying it. Per hour, from `gold/book_quality_hourly`: messages, snapshots (a new session after a
// connect, a drop or a mismatch), checksums that matched (`ok`) and that did not (`mismatches`),
// messages left unverified until the next snapshot and the runs of them (`gaps`), invalid rows
// quarantined, the seconds of the hour whose book is known, and the median delay from the exchange's
// timestamp to the lake (`delay_s`).

// %% Checksum health
if (bookWindow) {
  if (!lake.has("gold", "book_quality_hourly")) {
    display(md`> \`gold/book_quality_hourly\` is not in this lake yet.`);
  } else {
    const health = await lake.query<{
      symbol: string;
      hour_utc: string;
      messages: bigint;
      mismatches: bigint;
    }>(`
      SELECT symbol, strftime(hour, '%d %b %H:%M') AS hour_utc, updates AS messages, snapshots,
        checksum_ok AS ok, checksum_mismatches AS mismatches, unverified, unverified_intervals AS gaps,
        quarantined, known_seconds AS known_s, round(freshness_s, 3) AS delay_s
      FROM gold.book_quality_hourly
      WHERE symbol IN (${symbols}) AND hour >= time_bucket(INTERVAL 1 HOUR, TIMESTAMPTZ ${sqlString(bookWindow.start)})
        AND hour < TIMESTAMPTZ ${sqlString(bookWindow.end)}
      ORDER BY hour DESC, symbol`);
    const messages = health.reduce((n, h) => n + h.messages, 0n);
    const mismatches = health.reduce((n, h) => n + h.mismatches, 0n);
    display(
      mismatches === 0n
        ? md`✓ Every checksum of the ${messages} book messages in the window matched.`
        : md`⚠ **${mismatches} checksum mismatch${mismatches === 1n ? "" : "es"}** in ${messages} book messages in the window: each book was rebuilt from a new snapshot, and the seconds in between are not known.`,
      table(health, { maxRows: 24 }),
    );
  }
}
