/** Kraken's wire formats, written by hand so every number token is exactly what Kraken would send. */
import { formatMicros } from "@tributary/shared/time";
import { restTimeToken } from "../kraken/rest-time.ts";
import type { TapeTrade } from "./tape.ts";

/** `650000n`, 1 → `"65000.0"` (exact; no float). */
export function unitsToDecimal(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, "0");
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return negative ? `-${text}` : text;
}

/** REST prints prices padded to at least 5 decimals (`"105433.60000"` for a 1-decimal pair). */
export function restPrice(units: bigint, priceDecimals: number): string {
  const decimal = unitsToDecimal(units, priceDecimals);
  const pad = Math.max(5, priceDecimals) - priceDecimals;
  return pad > 0 ? `${decimal}${priceDecimals === 0 ? "." : ""}${"0".repeat(pad)}` : decimal;
}

export interface PairFormat {
  readonly symbol: string;
  readonly pairId: string;
  readonly priceDecimals: number;
  readonly lotDecimals: number;
}

/** `["105433.60000","0.00027625",1762795433.9717445,"b","l","",10218208]` */
export function restTradeRow(t: TapeTrade, p: PairFormat): string {
  return `["${restPrice(t.priceUnits, p.priceDecimals)}","${unitsToDecimal(t.qtyUnits, p.lotDecimals)}",${restTimeToken(t.timeNs)},"${t.side === "buy" ? "b" : "s"}","${t.ordType === "market" ? "m" : "l"}","",${t.tradeId}]`;
}

export function restTradesBody(p: PairFormat, trades: readonly TapeTrade[], last: string): string {
  return `{"error":[],"result":{"${p.pairId}":[${trades.map((t) => restTradeRow(t, p)).join(",")}],"last":"${last}"}}`;
}

/** One WS v2 trade item; price and qty carry the pair's full precision as number tokens. */
export function wsTradeItem(t: TapeTrade, p: PairFormat): string {
  return `{"symbol":"${p.symbol}","side":"${t.side}","price":${unitsToDecimal(t.priceUnits, p.priceDecimals)},"qty":${unitsToDecimal(t.qtyUnits, p.lotDecimals)},"ord_type":"${t.ordType}","trade_id":${t.tradeId},"timestamp":"${formatMicros(t.timeNs / 1000n)}"}`;
}

export function wsTradeFrame(
  type: "snapshot" | "update",
  trades: readonly TapeTrade[],
  p: PairFormat,
): string {
  return `{"channel":"trade","type":"${type}","data":[${trades.map((t) => wsTradeItem(t, p)).join(",")}]}`;
}

/** RFC 1123 with Kraken's two-digit year: `Tue, 11 Nov 25 00:17:04 +0000`. */
export function rfc1123TwoDigitYear(date: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${days[date.getUTCDay()]}, ${p2(date.getUTCDate())} ${months[date.getUTCMonth()]} ${p2(date.getUTCFullYear() % 100)} ${p2(date.getUTCHours())}:${p2(date.getUTCMinutes())}:${p2(date.getUTCSeconds())} +0000`;
}

/** `2024-05-15T11:20:43.013486Z` for acks and pongs. */
export function wsTime(nowNs: bigint): string {
  return formatMicros(nowNs / 1000n);
}
