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
