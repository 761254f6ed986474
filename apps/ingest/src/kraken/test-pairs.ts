/** Test fixtures: the recorded 2021 catalog's pairs the mapper tests use (decimals as in AssetPairs). */
import type { PairInfo } from "./pairs.ts";

export const BTC_USD: PairInfo = {
  pairId: "XXBTZUSD",
  altname: "XBTUSD",
  wsname: "XBT/USD",
  symbol: "BTC/USD",
  priceDecimals: 1,
  lotDecimals: 8,
};
export const ETH_USD: PairInfo = {
  pairId: "XETHZUSD",
  altname: "ETHUSD",
  wsname: "ETH/USD",
  symbol: "ETH/USD",
  priceDecimals: 2,
  lotDecimals: 8,
};
export const DOGE_USD: PairInfo = {
  pairId: "XDGUSD",
  altname: "XDGUSD",
  wsname: "XDG/USD",
  symbol: "DOGE/USD",
  priceDecimals: 7,
  lotDecimals: 8,
};
