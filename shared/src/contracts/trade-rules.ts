/**
 * The trade contract's value rules: one set, applied by the ingester before a trade goes to Kafka and
 * by silver (its SQL is built from these constants), so both give the same verdict on the same trade.
 * Each rejection reason starts with the rule's text. The JSON shape rules (types, formats, decimals)
 * live with each reader; these are the ones they disagreed on.
 */

/** Largest trade_id: 2^53 − 1, exact as a JS number, a double and a BIGINT, and in gold's gap sums. */
export const TRADE_ID_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Plausible exchange and receive times: from 2010-01-01 (Kraken opened in 2011, its first trade is of
 * 2013) up to, not including, 2100-01-01. Anything outside is a broken clock or a broken message, and
 * would otherwise land in partitions no reader looks at (year 0001) or overflow gold's time arithmetic.
 */
export const PLAUSIBLE_FROM = "2010-01-01T00:00:00Z";
export const PLAUSIBLE_UNTIL = "2100-01-01T00:00:00Z";
export const PLAUSIBLE_FROM_MICROS = 1_262_304_000_000_000n;
export const PLAUSIBLE_UNTIL_MICROS = 4_102_444_800_000_000n;

/** The start of each rule's rejection reason, identical in the ingester and in silver. */
export const TRADE_RULE = {
  pricePositive: "price is not positive",
  qtyPositive: "qty is not positive",
  tradeIdRange: `trade_id is not an integer in 1..${TRADE_ID_MAX}`,
  tsPlausible: `ts is outside ${PLAUSIBLE_FROM}..${PLAUSIBLE_UNTIL}`,
  receivedAtPlausible: `received_at is outside ${PLAUSIBLE_FROM}..${PLAUSIBLE_UNTIL}`,
  duplicateKey: "duplicate key",
} as const;

/** A decimal string with no digit 1–9 is zero (`0`, `0.00000000`); signs are refused by the readers. */
function isZero(decimal: string): boolean {
  for (let i = 0; i < decimal.length; i++) {
    const c = decimal.charCodeAt(i);
    if (c >= 49 && c <= 57) return false;
  }
  return true;
}

/** The value rules a mapped trade must pass; the reason of the first it breaks, else undefined. */
export function tradeRuleViolation(
  trade: { readonly trade_id: number; readonly price: string; readonly qty: string; readonly ts: string },
  tsMicros: bigint,
): string | undefined {
  if (!(Number.isSafeInteger(trade.trade_id) && trade.trade_id >= 1))
    return `${TRADE_RULE.tradeIdRange}: ${trade.trade_id}`;
  if (isZero(trade.price)) return `${TRADE_RULE.pricePositive}: ${trade.price}`;
  if (isZero(trade.qty)) return `${TRADE_RULE.qtyPositive}: ${trade.qty}`;
  if (tsMicros < PLAUSIBLE_FROM_MICROS || tsMicros >= PLAUSIBLE_UNTIL_MICROS)
    return `${TRADE_RULE.tsPlausible}: ${trade.ts}`;
  return undefined;
}
