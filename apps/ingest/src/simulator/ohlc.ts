/**
 * The simulator's `GET /0/public/OHLC`: candles computed from its own tape, so a healthy pipeline agrees
 * with them exactly. Kraken's shape: at most 720 committed rows plus the forming one, a minute without
 * trades repeats the previous close with vwap "0.0", `last` (an integer) = the last committed row.
 * With `ohlcMismatchRate` some committed minutes are served with one field changed (high, low, volume
 * or trade_count), chosen per minute from the seed, so a test can prove a disagreement is flagged.
 */

import { type PairFormat, unitsToDecimal } from "./formats.ts";
import { deriveSeed } from "./rng.ts";
import type { TradeTape } from "./tape.ts";

export const OHLC_INTERVALS: ReadonlySet<number> = new Set([1, 5, 15, 30, 60, 240, 1440, 10080, 21600]);
export const OHLC_FAULT_FIELDS = ["high", "low", "volume", "trade_count"] as const;
export type OhlcFaultField = (typeof OHLC_FAULT_FIELDS)[number];

const NS_PER_S = 1_000_000_000n;

export interface OhlcRequest {
  readonly tape: TradeTape | undefined;
  readonly format: PairFormat;
  readonly intervalMinutes: number;
  /** Unix seconds; committed rows after it (the forming row always comes). */
  readonly since: bigint | undefined;
  readonly nowNs: bigint;
  /** The field to falsify in a committed candle starting at `timeS`, if any. */
  readonly fault: (timeS: bigint) => OhlcFaultField | undefined;
}

/** Decides per (seed, symbol, candle start) whether Kraken's candle disagrees, and in which field. */
export function ohlcFaultPicker(
  seed: number,
  symbol: string,
  rate: number,
): (timeS: bigint) => OhlcFaultField | undefined {
  return (timeS) => {
    if (rate <= 0) return undefined;
    const h = deriveSeed(deriveSeed(seed, `ohlc ${symbol}`), timeS.toString());
    if (h / 4294967296 >= rate) return undefined;
    return OHLC_FAULT_FIELDS[deriveSeed(h, "field") % OHLC_FAULT_FIELDS.length];
  };
}

interface Candle {
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
  notional: bigint;
  count: number;
}

/** The `result` body of an OHLC answer, keyed by the pair id. */
export function ohlcBody(r: OhlcRequest): string {
  const stepNs = BigInt(r.intervalMinutes) * 60n * NS_PER_S;
  const formingStart = (r.nowNs / stepNs) * stepNs;
  const firstStart = formingStart - 720n * stepNs;
  const trades = r.tape ? r.tape.after(firstStart - 1n, Number.MAX_SAFE_INTEGER) : [];
  const price = (u: bigint) => unitsToDecimal(u, r.format.priceDecimals);
  const lots = (u: bigint) => unitsToDecimal(u, r.format.lotDecimals);
  // The close before the window, so leading empty minutes repeat it as on Kraken.
  let prevClose = r.tape?.lastBefore(firstStart)?.priceUnits;
  const rows: string[] = [];
  let i = 0;
  for (let start = firstStart; start <= formingStart; start += stepNs) {
    let c: Candle | undefined;
    while (i < trades.length && (trades[i]?.timeNs ?? 0n) < start + stepNs) {
      const t = trades[i++];
      if (!t) break;
      if (!c)
        c = {
          open: t.priceUnits,
          high: t.priceUnits,
          low: t.priceUnits,
          close: 0n,
          volume: 0n,
          notional: 0n,
          count: 0,
        };
      if (t.priceUnits > c.high) c.high = t.priceUnits;
      if (t.priceUnits < c.low) c.low = t.priceUnits;
      c.close = t.priceUnits;
      c.volume += t.qtyUnits;
      c.notional += t.priceUnits * t.qtyUnits;
      c.count++;
    }
    const timeS = start / NS_PER_S;
    if (r.since !== undefined && timeS <= r.since && start < formingStart) {
      if (c) prevClose = c.close;
      continue;
    }
    if (!c) {
      if (prevClose === undefined) continue;
      const pc = price(prevClose);
      rows.push(`[${timeS},"${pc}","${pc}","${pc}","${pc}","0.0","${lots(0n)}",0]`);
      continue;
    }
    prevClose = c.close;
    const vwap = (c.notional * 2n + c.volume) / (c.volume * 2n);
    const fault = start < formingStart ? r.fault(timeS) : undefined;
    if (fault === "high") c.high += 1n;
    if (fault === "low" && c.low > 1n) c.low -= 1n;
    if (fault === "volume") c.volume += 1n;
    if (fault === "trade_count") c.count += 1;
    rows.push(
      `[${timeS},"${price(c.open)}","${price(c.high)}","${price(c.low)}","${price(c.close)}","${price(vwap)}","${lots(c.volume)}",${c.count}]`,
    );
  }
  const last = (formingStart - stepNs) / NS_PER_S;
  return `{"error":[],"result":{"${r.format.pairId}":[${rows.join(",")}],"last":${last}}}`;
}
