/**
 * Every gold dataset of the lake by name: the market datasets (gold/market, Hive-partitioned by symbol
 * with one file per day or month), the order-book datasets (gold/book, the same layout, one file per
 * day) and the Tesouro bond datasets (gold/tesouro, one file each).
 * Readers outside the lake (console, notebooks) and fixtures take the names from here.
 */

/** Market gold (gold/market/market.ts). */
export const GOLD = {
  candles: {
    "1m": "candles_1m",
    "5m": "candles_5m",
    "15m": "candles_15m",
    "1h": "candles_1h",
    "1d": "candles_1d",
  },
  marketMetrics: "market_metrics_1m",
  dailySummary: "daily_summary",
  quality: "data_quality_hourly",
  reconciliation: "candle_reconciliation",
} as const;

/** Order-book gold (gold/book/book.ts), from silver `kraken_book_events` and `kraken_book_checkpoints`. */
export const BOOK_GOLD = {
  perSecond: "book_1s",
  perMinute: "book_1m",
  quality: "book_quality_hourly",
} as const;

/** Tesouro Direto gold (gold/tesouro/tesouro.ts), from silver `cdc_<schema>_tesouro_prices`. */
export const TESOURO_GOLD = {
  yieldCurve: "tesouro_yield_curve",
  spreads: "tesouro_spreads",
  dailyChange: "tesouro_daily_change",
  latestCurve: "tesouro_latest_curve",
} as const;

/** DuckDB's names for the types gold writes. */
const DEC = "DECIMAL(38,10)";
const TSTZ = "TIMESTAMP WITH TIME ZONE";
const TEXT = "VARCHAR";
const BIGINT = "BIGINT";
const INT = "INTEGER";
const DOUBLE = "DOUBLE";
const DATE = "DATE";

/** A dataset's columns in file order, name → DuckDB type (Hive partition keys are not columns). */
export type GoldSchema = Readonly<Record<string, string>>;

const CANDLE_COLUMNS: GoldSchema = {
  symbol: TEXT,
  bucket_start: TSTZ,
  open: DEC,
  high: DEC,
  low: DEC,
  close: DEC,
  base_volume: DEC,
  quote_volume: DEC,
  vwap: DEC,
  trade_count: BIGINT,
  buy_volume: DEC,
  sell_volume: DEC,
  first_trade_id: BIGINT,
  last_trade_id: BIGINT,
};

/** A Tesouro yield curve: the full history and the latest date share it. */
const CURVE_COLUMNS: GoldSchema = {
  bond_type: TEXT,
  base_date: DATE,
  maturity_date: DATE,
  days_to_maturity: BIGINT,
  years_to_maturity: "DECIMAL(9,4)",
  buy_rate: "DECIMAL(9,2)",
  sell_rate: "DECIMAL(9,2)",
};

/**
 * Every gold dataset's columns, in file order: what readers may rely on. schemas.test.ts runs the
 * real jobs and compares every file's schema with this, so a change to a gold query that changes a
 * column fails there until it is made here (and in docs/datasets.md) on purpose.
 */
export const GOLD_SCHEMAS: Readonly<Record<string, GoldSchema>> = {
  [GOLD.candles["1m"]]: CANDLE_COLUMNS,
  [GOLD.candles["5m"]]: CANDLE_COLUMNS,
  [GOLD.candles["15m"]]: CANDLE_COLUMNS,
  [GOLD.candles["1h"]]: CANDLE_COLUMNS,
  [GOLD.candles["1d"]]: CANDLE_COLUMNS,
  [GOLD.marketMetrics]: {
    symbol: TEXT,
    minute: TSTZ,
    mid: DEC,
    spread_bps: DOUBLE,
    samples: BIGINT,
    spread_bps_min: DOUBLE,
    spread_bps_max: DOUBLE,
    bid: DEC,
    ask: DEC,
    last_ts: TSTZ,
  },
  [GOLD.dailySummary]: {
    symbol: TEXT,
    day: DATE,
    open: DEC,
    close: DEC,
    return: DOUBLE,
    realized_vol: DOUBLE,
    max_drawdown: DOUBLE,
    trade_count: BIGINT,
    minutes: BIGINT,
  },
  [GOLD.quality]: {
    symbol: TEXT,
    hour: TSTZ,
    rows: BIGINT,
    duplicates_removed: BIGINT,
    quarantined: BIGINT,
    first_trade_id: BIGINT,
    last_trade_id: BIGINT,
    trade_id_gaps: BIGINT,
    missing_trades: BIGINT,
    missing_trade_ids: TEXT,
    late_arrivals: BIGINT,
    freshness_s: DOUBLE,
    freshness_p99_s: DOUBLE,
    freshness_max_s: DOUBLE,
    kraken_ohlc_minutes_checked: BIGINT,
    kraken_ohlc_minutes_mismatched: BIGINT,
  },
  [GOLD.reconciliation]: {
    symbol: TEXT,
    minute: TSTZ,
    status: TEXT,
    mismatched_fields: TEXT,
    kraken_open: DEC,
    kraken_high: DEC,
    kraken_low: DEC,
    kraken_close: DEC,
    kraken_vwap: DEC,
    kraken_volume: DEC,
    kraken_trade_count: BIGINT,
    open: DEC,
    high: DEC,
    low: DEC,
    close: DEC,
    vwap: DEC,
    base_volume: DEC,
    trade_count: BIGINT,
    fetched_at: TSTZ,
  },
  [BOOK_GOLD.perSecond]: {
    symbol: TEXT,
    second: TSTZ,
    session: TEXT,
    seq: BIGINT,
    updates: BIGINT,
    bid_levels: INT,
    ask_levels: INT,
    bid: DEC,
    bid_qty: DEC,
    ask: DEC,
    ask_qty: DEC,
    spread: DEC,
    spread_bps: DOUBLE,
    mid: DEC,
    microprice: DEC,
    imbalance: DOUBLE,
    bid_depth_10bps: DEC,
    ask_depth_10bps: DEC,
    bid_depth_25bps: DEC,
    ask_depth_25bps: DEC,
    bid_depth_50bps: DEC,
    ask_depth_50bps: DEC,
    depth_imbalance_10bps: DOUBLE,
    depth_imbalance_25bps: DOUBLE,
    depth_imbalance_50bps: DOUBLE,
  },
  [BOOK_GOLD.perMinute]: {
    symbol: TEXT,
    minute: TSTZ,
    seconds: BIGINT,
    updates: BIGINT,
    bid: DEC,
    ask: DEC,
    mid: DEC,
    microprice: DEC,
    spread_bps_mean: DOUBLE,
    spread_bps_min: DOUBLE,
    spread_bps_max: DOUBLE,
    imbalance_mean: DOUBLE,
    bid_depth_10bps_mean: DEC,
    ask_depth_10bps_mean: DEC,
    bid_depth_25bps_mean: DEC,
    ask_depth_25bps_mean: DEC,
    bid_depth_50bps_mean: DEC,
    ask_depth_50bps_mean: DEC,
  },
  [BOOK_GOLD.quality]: {
    symbol: TEXT,
    hour: TSTZ,
    updates: BIGINT,
    snapshots: BIGINT,
    checksum_ok: BIGINT,
    checksum_mismatches: BIGINT,
    unverified: BIGINT,
    unverified_intervals: BIGINT,
    quarantined: BIGINT,
    known_seconds: BIGINT,
    freshness_s: DOUBLE,
    freshness_max_s: DOUBLE,
  },
  [TESOURO_GOLD.yieldCurve]: CURVE_COLUMNS,
  [TESOURO_GOLD.spreads]: {
    bond_type: TEXT,
    maturity_date: DATE,
    base_date: DATE,
    buy_rate: "DECIMAL(9,2)",
    sell_rate: "DECIMAL(9,2)",
    rate_spread_pp: "DECIMAL(9,2)",
    rate_spread_bps: "DECIMAL(9,0)",
    buy_price: "DECIMAL(18,2)",
    sell_price: "DECIMAL(18,2)",
    price_spread: "DECIMAL(18,2)",
    price_spread_pct: "DECIMAL(9,4)",
  },
  [TESOURO_GOLD.dailyChange]: {
    bond_type: TEXT,
    maturity_date: DATE,
    base_date: DATE,
    prev_base_date: DATE,
    buy_price: "DECIMAL(18,2)",
    buy_price_change: "DECIMAL(18,2)",
    buy_price_change_pct: "DECIMAL(9,4)",
    sell_price: "DECIMAL(18,2)",
    sell_price_change: "DECIMAL(18,2)",
    base_price: "DECIMAL(18,2)",
    base_price_change: "DECIMAL(18,2)",
    buy_rate: "DECIMAL(9,2)",
    buy_rate_change_pp: "DECIMAL(9,2)",
    sell_rate: "DECIMAL(9,2)",
    sell_rate_change_pp: "DECIMAL(9,2)",
  },
  [TESOURO_GOLD.latestCurve]: CURVE_COLUMNS,
};
