/** Strict field readers over lossless JSON: each names the field and the value when it refuses. */

import { TRADE_ID_MAX, TRADE_RULE } from "@tributary/shared/contracts/trade-rules";
import { DecimalFormatError, numberTokenToDecimal, toScale } from "@tributary/shared/decimal";
import { formatMicros, parseRfc3339Micros, TimeFormatError } from "@tributary/shared/time";
import { isObject, JsonNumber, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import { describe, MappingError } from "./mapping.ts";

export function asObject(v: LosslessValue | undefined, what: string): LosslessObject {
  if (!isObject(v)) throw new MappingError(`${what} is not an object: ${describe(v)}`);
  return v;
}

export function stringField(o: LosslessObject, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new MappingError(`${key} is not a string: ${describe(v)}`);
  return v;
}

export function optionalStringField(o: LosslessObject, key: string): string | undefined {
  return o[key] === undefined ? undefined : stringField(o, key);
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new MappingError(`${what} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/** The token text of a JSON number field. */
export function numberToken(v: LosslessValue | undefined, what: string): string {
  if (!(v instanceof JsonNumber)) throw new MappingError(`${what} is not a JSON number: ${describe(v)}`);
  return v.text;
}

/** A trade id in 1..2^53−1 (the trade contract's rule, shared with silver). */
export function tradeIdOf(v: LosslessValue | undefined, what: string): number {
  const text = numberToken(v, what);
  const n = Number(text);
  if (!/^[1-9]\d*$/.test(text) || n > TRADE_ID_MAX)
    throw new MappingError(`${TRADE_RULE.tradeIdRange}: ${text}`);
  return n;
}

/** A non-negative integer (counts); returned as its decimal text. */
export function integerText(v: LosslessValue | undefined, what: string): string {
  const text = numberToken(v, what);
  if (!/^(0|[1-9]\d*)$/.test(text)) throw new MappingError(`${what} ${text} is not a non-negative integer`);
  return text;
}

/** Exact decimal at exactly `scale` digits; refuses values that would need rounding. */
export function decimalAtScale(text: string, scale: number, what: string): string {
  try {
    return toScale(text, scale);
  } catch (err) {
    if (err instanceof DecimalFormatError) throw new MappingError(`${what}: ${err.message}`);
    throw err;
  }
}

/** Exact decimal padded to at least `scale` digits; more digits than that are kept, never rounded. */
export function decimalAtLeastScale(text: string, scale: number, what: string): string {
  const dot = text.indexOf(".");
  const digits = dot < 0 ? 0 : text.length - dot - 1;
  return decimalAtScale(text, Math.max(scale, digits), what);
}

const PLAIN_DECIMAL = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** WS v2 number → exact decimal text at exactly `scale` digits (trailing zeros restored). */
export function wsDecimal(o: LosslessObject, key: string, scale: number): string {
  const token = numberToken(o[key], key);
  let text: string;
  try {
    // A plain token (no sign, no exponent) is already exact decimal text; JSON forbids leading zeros.
    text = PLAIN_DECIMAL.test(token) ? token : numberTokenToDecimal(token);
  } catch (err) {
    throw new MappingError(`${key}: ${(err as Error).message}`);
  }
  if (text.startsWith("-")) throw new MappingError(`${key} ${token} is negative`);
  return decimalAtScale(text, scale, key);
}

/** WS v2 number → exact decimal text, padded to at least `scale` digits. */
export function wsDecimalAtLeast(o: LosslessObject, key: string, scale: number): string {
  const token = numberToken(o[key], key);
  try {
    return decimalAtLeastScale(numberTokenToDecimal(token), scale, key);
  } catch (err) {
    if (err instanceof MappingError) throw err;
    throw new MappingError(`${key}: ${(err as Error).message}`);
  }
}

/** A decimal carried as a JSON string (REST), e.g. `"105433.60000"`, at exactly `scale` digits. */
export function restDecimal(v: LosslessValue | undefined, scale: number, what: string): string {
  if (typeof v !== "string") throw new MappingError(`${what} is not a decimal string: ${describe(v)}`);
  if (v.startsWith("-")) throw new MappingError(`${what} ${v} is negative`);
  return decimalAtScale(v, scale, what);
}

/** A decimal carried as a JSON string (REST), kept exactly as sent. */
export function restDecimalExact(v: LosslessValue | undefined, what: string): string {
  if (typeof v !== "string") throw new MappingError(`${what} is not a decimal string: ${describe(v)}`);
  return decimalAtLeastScale(v, 0, what);
}

/** The last timestamp converted: fills of one order share it, so most lookups hit. */
let lastTimestamp: { text: string; result: readonly [string, bigint] } | undefined;

/** RFC 3339 → canonical µs form, or MappingError. Returns [text, micros]. */
export function rfc3339Field(o: LosslessObject, key: string): readonly [string, bigint] {
  return rfc3339Text(stringField(o, key), key);
}

/**
 * The whole second (`YYYY-MM-DDTHH:MM:SS`) of the last canonical timestamp converted, checked, and its
 * micros: consecutive book updates and orders differ in the fraction only, so most need no calendar work.
 */
let lastSecond: { prefix: string; micros: bigint } | undefined;

/** RFC 3339 text → [canonical µs text, micros], or MappingError naming `key`. */
export function rfc3339Text(text: string, key: string): readonly [string, bigint] {
  if (lastTimestamp?.text === text) return lastTimestamp.result;
  let result = sameSecondCanonical(text);
  if (!result) {
    result = parseTimestamp(key, text);
    if (result[0] === text)
      lastSecond = { prefix: text.slice(0, 19), micros: result[1] - (result[1] % 1_000_000n) };
  }
  lastTimestamp = { text, result };
  return result;
}

/** `text` in canonical form (`.ffffffZ`) within the last second checked: what parseTimestamp gives, cheaply. */
function sameSecondCanonical(text: string): readonly [string, bigint] | undefined {
  if (text.length !== 27 || lastSecond === undefined || !text.startsWith(lastSecond.prefix)) return undefined;
  if (text.charCodeAt(19) !== 46 /* . */ || text.charCodeAt(26) !== 90 /* Z */) return undefined;
  let fraction = 0;
  for (let i = 20; i < 26; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    fraction = fraction * 10 + digit;
  }
  return [text, lastSecond.micros + BigInt(fraction)];
}

function parseTimestamp(key: string, text: string): readonly [string, bigint] {
  // Far outside the plausible window (year 0001, 9999): the trade rule's verdict, before any calendar
  // arithmetic (Date.UTC reads years 0–99 as 1900–1999). The exact window is checked on the micros.
  const year = Number(text.slice(0, 4));
  if (!(year >= 2009 && year <= 2100)) throw new MappingError(`${TRADE_RULE.tsPlausible}: ${text}`);
  try {
    const micros = parseRfc3339Micros(text);
    const canonical = formatMicros(micros);
    // parseRfc3339Micros lets Date.UTC roll over out-of-range fields (month 13, hour 99): refuse those.
    if (text.endsWith("Z") && canonical.slice(0, 19) !== text.slice(0, 19).replace(" ", "T")) {
      throw new MappingError(`${key}: not a valid calendar instant: ${JSON.stringify(text)}`);
    }
    return [canonical, micros];
  } catch (err) {
    if (err instanceof TimeFormatError) throw new MappingError(`${key}: ${err.message}`);
    throw err;
  }
}

/** REST `time` token (`1762795433.9717445`) → exact epoch nanoseconds. */
export function secondsTokenToNanos(token: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(token);
  if (!m) throw new MappingError(`time ${JSON.stringify(token)} is not unix seconds with at most 9 decimals`);
  const [, whole = "0", frac = ""] = m;
  return BigInt(whole) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"));
}
