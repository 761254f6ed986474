/**
 * The pair registry: Kraken names one market four ways. REST pair id `XXBTZUSD` (the AssetPairs key
 * and the Trades result key), altname `XBTUSD`, WS v1 / REST `wsname` `XBT/USD`, and WS v2 symbol
 * `BTC/USD` (the contract's symbol). Decimals come from AssetPairs (`pair_decimals`, `lot_decimals`).
 */

export interface PairInfo {
  /** AssetPairs key, e.g. `XXBTZUSD`. */
  readonly pairId: string;
  /** e.g. `XBTUSD`; what we send as `pair=` to REST. */
  readonly altname: string;
  /** WS v1 name, e.g. `XBT/USD`. */
  readonly wsname: string;
  /** WS v2 symbol and contract symbol, e.g. `BTC/USD`. */
  readonly symbol: string;
  /** Price scale (`pair_decimals`; WS `price_precision`). */
  readonly priceDecimals: number;
  /** Quantity scale (`lot_decimals`; WS `qty_precision`). */
  readonly lotDecimals: number;
  /** `online`, `cancel_only`, … when AssetPairs reports it (newer responses only). */
  readonly status?: string;
}

/** Legacy asset codes that WS v2 renamed. */
const V2_ASSET: Readonly<Record<string, string>> = { XBT: "BTC", XDG: "DOGE" };

/** `XBT/USD` → `BTC/USD`, `XDG/USD` → `DOGE/USD`; other names are unchanged. */
export function v2SymbolFromWsname(wsname: string): string {
  return wsname
    .split("/")
    .map((asset) => V2_ASSET[asset] ?? asset)
    .join("/");
}

export class PairRegistry {
  private readonly bySymbol = new Map<string, PairInfo>();
  private readonly byName = new Map<string, PairInfo>();

  constructor(pairs: Iterable<PairInfo>) {
    for (const p of pairs) {
      this.bySymbol.set(p.symbol, p);
      for (const name of [p.pairId, p.altname, p.wsname, p.symbol]) {
        if (!this.byName.has(name)) this.byName.set(name, p);
      }
    }
  }

  get size(): number {
    return this.bySymbol.size;
  }

  /** By WS v2 symbol (`BTC/USD`). */
  bySymbolName(symbol: string): PairInfo | undefined {
    return this.bySymbol.get(symbol);
  }

  /** By any of Kraken's names (pair id, altname, wsname or v2 symbol), e.g. a Trades result key. */
  byAnyName(name: string): PairInfo | undefined {
    return this.byName.get(name);
  }

  symbols(): string[] {
    return [...this.bySymbol.keys()];
  }
}
