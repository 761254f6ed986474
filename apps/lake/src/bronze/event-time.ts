/**
 * Event time and symbol of a bronze record, read from the raw value bytes without a full parse
 * when the message has the producer's canonical shape, with JSON.parse as the fallback.
 *
 * Why the fast scan equals JSON.parse on valid input: it is used only when the value is a JSON
 * object (`{`…`}`) with no nested object (no `{` after the first byte), so every key is top-level.
 * An unescaped `"` cannot occur inside a JSON string, so a match of `"ts":"` whose first quote is
 * not preceded by `\` opens the string `ts`, and a string followed by `:` is a key. A second match
 * (a duplicate key, where JSON.parse keeps the last) sends the value to the fallback. The value
 * must be exactly `YYYY-MM-DDTHH:MM:SS.ffffffZ"` (no escapes possible) with in-range fields, else
 * shared/src/time.ts parses it. The property test in event-time.test.ts checks the equality.
 *
 * Times are epoch microseconds as JS numbers: exact up to 2^53 µs (year 2255).
 */
import { pairOfSymbol } from "@tributary/shared/lake/layout";
import { daysFromCivil, parseRfc3339Micros } from "@tributary/shared/time";

/** Pair partition value when neither the value nor the key names one. */
export const UNKNOWN_SYMBOL = "_unknown";
const MAX_SYMBOL_LENGTH = 64;

/** Reused output of the extractors (one per writer, no allocation per record). */
export interface EventFields {
  /** Epoch µs of the event, or NaN when it cannot be parsed (the writer falls back to the Kafka timestamp, flagged). */
  eventUs: number;
  /** Hive `pair=` value, the symbol's path form (Kraken datasets only). */
  symbol: string;
}

const TS_NEEDLE = Buffer.from('"ts":"');
const SYMBOL_NEEDLE = Buffer.from('"symbol":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const symbolCache = new Map<string, string>();

/** Kraken trade/ticker: `ts` (RFC 3339 µs) and `symbol`, else the key, else `_unknown`. */
export function krakenEventFields(value: Buffer | null, key: Buffer | null, out: EventFields): void {
  out.eventUs = Number.NaN;
  out.symbol = UNKNOWN_SYMBOL;
  if (value === null || value.length < 2) {
    out.symbol = key === null ? UNKNOWN_SYMBOL : symbolOf(key.toString("utf8"));
    return;
  }
  if (
    value[0] === OPEN_BRACE &&
    value[value.length - 1] === CLOSE_BRACE &&
    value.indexOf(OPEN_BRACE, 1) === -1
  ) {
    const ts = uniqueMatch(value, TS_NEEDLE);
    const sym = uniqueMatch(value, SYMBOL_NEEDLE);
    if (ts >= 0 && sym >= 0) {
      const us = canonicalMicrosAt(value, ts);
      const end = value.indexOf(QUOTE, sym);
      if (!Number.isNaN(us) && end > sym && plainAscii(value, sym, end)) {
        out.eventUs = us;
        out.symbol = symbolAt(value, sym, end);
        return;
      }
    }
  }
  slowKraken(value, key, out);
}

function slowKraken(value: Buffer, key: Buffer | null, out: EventFields): void {
  out.eventUs = Number.NaN;
  out.symbol = key === null ? UNKNOWN_SYMBOL : symbolOf(key.toString("utf8"));
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch {
    return;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return;
  const { ts, symbol } = parsed as { ts?: unknown; symbol?: unknown };
  if (typeof symbol === "string" && symbol !== "") out.symbol = symbolOf(symbol);
  if (typeof ts === "string") out.eventUs = micros(ts);
}

/**
 * CDC (Debezium envelope, optionally wrapped in `{schema, payload}`): the change's commit time,
 * `source.ts_us`, else `source.ts_ms`, else the envelope's `ts_us` / `ts_ms`.
 */
export function cdcEventFields(value: Buffer | null, out: EventFields): void {
  out.eventUs = Number.NaN;
  out.symbol = UNKNOWN_SYMBOL;
  if (value === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch {
    return;
  }
  if (parsed === null || typeof parsed !== "object") return;
  let env = parsed as Record<string, unknown>;
  if (env.payload !== null && typeof env.payload === "object" && !("op" in env))
    env = env.payload as Record<string, unknown>;
  const src =
    env.source !== null && typeof env.source === "object" ? (env.source as Record<string, unknown>) : {};
  for (const [v, scale] of [
    [src.ts_us, 1],
    [src.ts_ms, 1000],
    [env.ts_us, 1],
    [env.ts_ms, 1000],
  ] as const) {
    if (typeof v === "number" && Number.isSafeInteger(v) && Number.isSafeInteger(v * scale)) {
      out.eventUs = v * scale;
      return;
    }
  }
}

/** RFC 3339 text → epoch µs (number), NaN when it is not a valid timestamp. */
export function micros(text: string): number {
  try {
    const us = parseRfc3339Micros(text);
    const n = Number(us);
    return Number.isSafeInteger(n) ? n : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Start of the string value after a needle that occurs exactly once, unescaped; else -1. */
function uniqueMatch(buf: Buffer, needle: Buffer): number {
  const at = buf.indexOf(needle);
  if (at <= 0 || buf[at - 1] === BACKSLASH) return -1;
  if (buf.indexOf(needle, at + needle.length) !== -1) return -1;
  return at + needle.length;
}

/** Printable ASCII without escapes: the bytes are the string's characters. */
function plainAscii(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i] as number;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
  }
  return true;
}

/** Recently seen symbol bytes and their partition value: no string per record on the fast path. */
const recentSymbols: Array<{ readonly bytes: Buffer; readonly value: string }> = [];
const MAX_RECENT_SYMBOLS = 32;

/** The partition value of the plain-ASCII symbol at `buf[from, to)`. */
function symbolAt(buf: Buffer, from: number, to: number): string {
  const len = to - from;
  for (const r of recentSymbols) {
    if (r.bytes.length !== len) continue;
    let i = 0;
    while (i < len && r.bytes[i] === buf[from + i]) i++;
    if (i === len) return r.value;
  }
  const value = symbolOf(buf.toString("latin1", from, to));
  if (recentSymbols.length < MAX_RECENT_SYMBOLS)
    recentSymbols.push({ bytes: Buffer.from(buf.subarray(from, to)), value });
  return value;
}

function symbolOf(raw: string): string {
  let cached = symbolCache.get(raw);
  if (cached === undefined) {
    const v = pairOfSymbol(raw);
    cached = v === "" || v === "_" || v.length > MAX_SYMBOL_LENGTH ? UNKNOWN_SYMBOL : v;
    if (symbolCache.size < 10_000) symbolCache.set(raw, cached);
  }
  return cached;
}

const CANONICAL_LENGTH = 27; // YYYY-MM-DDTHH:MM:SS.ffffffZ

/**
 * Parses `YYYY-MM-DDTHH:MM:SS.ffffffZ"` at `at`; NaN for anything else (the caller then uses the
 * general parser). Fields must be in range: the general parser is the authority on the rest.
 */
export function canonicalMicrosAt(buf: Buffer, at: number): number {
  if (at + CANONICAL_LENGTH >= buf.length || buf[at + CANONICAL_LENGTH] !== QUOTE) return Number.NaN;
  if (
    buf[at + 4] !== 0x2d ||
    buf[at + 7] !== 0x2d ||
    buf[at + 10] !== 0x54 ||
    buf[at + 13] !== 0x3a ||
    buf[at + 16] !== 0x3a ||
    buf[at + 19] !== 0x2e ||
    buf[at + 26] !== 0x5a
  ) {
    return Number.NaN;
  }
  const year = digits(buf, at, 4);
  const month = digits(buf, at + 5, 2);
  const day = digits(buf, at + 8, 2);
  const hour = digits(buf, at + 11, 2);
  const minute = digits(buf, at + 14, 2);
  const second = digits(buf, at + 17, 2);
  const frac = digits(buf, at + 20, 6);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59)
    return Number.NaN;
  if (second < 0 || second > 59 || frac < 0 || day > daysInMonth(year, month)) return Number.NaN;
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + frac;
}

function digits(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = (buf[at + i] as number) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
