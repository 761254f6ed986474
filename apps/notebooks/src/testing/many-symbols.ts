/** Twelve Kraken-style symbols: enough series to outgrow a 10-colour palette and a short legend. */
export const TWELVE_SYMBOLS = [
  "BTC/USD",
  "ETH/USD",
  "SOL/USD",
  "XRP/USD",
  "ADA/USD",
  "DOGE/USD",
  "AVAX/USD",
  "DOT/USD",
  "LINK/USD",
  "MATIC/USD",
  "LTC/USD",
  "BCH/USD",
] as const;
