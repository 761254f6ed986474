/**
 * SQL fragments that validate JSON message fields (trades, tickers). Fields are extracted with
 * `json_transform(…, {"field": "JSON"})`, which keeps each field's raw JSON token: strings stay
 * quoted, integers keep their digits. Decimals are checked as text and only then CAST to
 * DECIMAL(38,10), so a value is either exact or quarantined, never rounded.
 */
import { PLAUSIBLE_FROM_MICROS, PLAUSIBLE_UNTIL_MICROS } from "@tributary/shared/contracts/trade-rules";

export const DECIMAL_TOKEN = `"-?[0-9]+(\\.[0-9]+)?"`;
export const RFC3339_TOKEN = `"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"`;
const RFC3339_SUB_MICRO = `"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{7,}(Z|[+-][0-9]{2}:[0-9]{2})"`;
/** `"BTC/USD"`, also with the `\/` escape Kraken's REST uses. */
export const SYMBOL_TOKEN = `"[A-Z0-9]{2,10}(/|\\\\/)[A-Z0-9]{2,10}"`;
export const SYMBOL_TEXT = `[A-Z0-9]{2,10}/[A-Z0-9]{2,10}`;

/** The json_transform shape that extracts `fields` as raw JSON tokens. */
export function jsonShape(fields: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(fields.map((k) => [k, "JSON"])));
}

export type SignRule = "positive" | "non-negative" | "any";

/**
 * Plausibility bound for prices and quantities that gold aggregates: at most 15 integer digits, and
 * a trade's notional below 10^15. Gold sums price·qty exactly in 128-bit integers of 10^-20 units
 * (up to 1.7·10^18 per candle); no market comes near these bounds, and a value beyond them is
 * quarantined rather than allowed to overflow (and block) the gold job.
 */
export const MAX_PRICE_INTEGER_DIGITS = 15;
export const MAX_NOTIONAL = "1e15";

/** CASE branches rejecting a decimal field; `tok` is the field's raw JSON token. */
export function decimalReason(
  field: string,
  tok: string,
  sign: SignRule = "positive",
  maxIntegerDigits = 28,
): string {
  const signCheck =
    sign === "positive"
      ? `WHEN try_cast(trim(${tok}, '"') AS DECIMAL(38,10)) <= 0 THEN '${field} is not positive: ' || left(${tok}, 60)`
      : sign === "non-negative"
        ? `WHEN try_cast(trim(${tok}, '"') AS DECIMAL(38,10)) < 0 THEN '${field} is negative: ' || left(${tok}, 60)`
        : "";
  return `WHEN ${tok} IS NULL THEN 'missing field ${field}'
    WHEN NOT regexp_full_match(${tok}, '${DECIMAL_TOKEN}') THEN '${field} is not a decimal string: ' || left(${tok}, 60)
    WHEN regexp_full_match(${tok}, '"-?[0-9]+\\.[0-9]{11,}"') THEN '${field} has more than 10 fractional digits: ' || left(${tok}, 60)
    WHEN regexp_full_match(${tok}, '"-?0*[1-9][0-9]{${maxIntegerDigits},}(\\.[0-9]+)?"') THEN '${field} has more than ${maxIntegerDigits} integer digits: ' || left(${tok}, 60)
    ${signCheck}`;
}

/** Whether a TIMESTAMPTZ expression lies in the trade contract's plausible window (NULL: false). */
export function plausible(expr: string): string {
  return `coalesce(epoch_us(${expr}) >= ${PLAUSIBLE_FROM_MICROS} AND epoch_us(${expr}) < ${PLAUSIBLE_UNTIL_MICROS}, false)`;
}

/** The UTC hour an instant falls in, flooring (not truncating toward zero) before 1970 too. */
export function hourOf(expr: string): string {
  return `make_timestamptz(floor(epoch_us(${expr}) / 3600000000)::BIGINT * 3600000000)`;
}

/** CASE branches rejecting a timestamp field (RFC 3339, at most microseconds). */
export function timeReason(field: string, tok: string): string {
  return `WHEN ${tok} IS NULL THEN 'missing field ${field}'
    WHEN regexp_full_match(${tok}, '${RFC3339_SUB_MICRO}') THEN '${field} has more than 6 fractional digits: ' || left(${tok}, 60)
    WHEN NOT regexp_full_match(${tok}, '${RFC3339_TOKEN}') OR try_cast(trim(${tok}, '"') AS TIMESTAMPTZ) IS NULL
      THEN '${field} is not an RFC 3339 timestamp: ' || left(${tok}, 60)`;
}

/** CASE branches for the envelope: UTF-8, JSON, object. Columns `raw_text`, `m`. */
export const ENVELOPE_REASONS = `WHEN raw_text IS NULL THEN 'value is not valid UTF-8'
    WHEN NOT json_valid(raw_text) THEN 'value is not valid JSON'
    WHEN NOT regexp_matches(raw_text, '^\\s*\\{') THEN 'value is not a JSON object'`;

/**
 * `source` with `raw_text` and `m`, the struct of raw tokens for `fields` (NULL when the value is not
 * JSON). Validity checks that cost a second parse live in ENVELOPE_REASONS, run for rejected rows only.
 */
export function decodeMessagesSql(source: string, fields: readonly string[]): string {
  return `SELECT *, try(json_transform(raw_text, '${jsonShape(fields)}')) AS m
  FROM (SELECT *, try(decode(kafka_value)) AS raw_text FROM ${source})`;
}

/** The quoted JSON string token as text (`"BTC\/USD"` → `BTC/USD`); callers validated its shape. */
export function unquote(tok: string): string {
  return `replace(trim(${tok}, '"'), '\\/', '/')`;
}
