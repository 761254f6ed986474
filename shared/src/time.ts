/**
 * UTC time with microsecond precision. A JS Date holds milliseconds only, so exact instants
 * travel as bigint microseconds since the Unix epoch and as RFC 3339 strings with six digits.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export class TimeFormatError extends Error {
  override readonly name = "TimeFormatError";
}

/** Parses RFC 3339 (any offset, up to 9 fractional digits) into epoch microseconds; digits past µs are truncated. */
export function parseRfc3339Micros(text: string): bigint {
  const m = RFC3339.exec(text);
  if (!m) throw new TimeFormatError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms);
  // Date.UTC rolls month 13 or hour 99 over into the next unit: compare every part back.
  if (
    Number.isNaN(ms) ||
    back.getUTCMonth() + 1 !== Number(mo) ||
    back.getUTCDate() !== Number(d) ||
    back.getUTCHours() !== Number(h) ||
    back.getUTCMinutes() !== Number(mi) ||
    back.getUTCSeconds() !== Number(s)
  ) {
    throw new TimeFormatError(`not a valid calendar instant: ${JSON.stringify(text)}`);
  }
  let micros = BigInt(ms) * 1000n + BigInt(`${frac}000000`.slice(0, 6));
  if (zone !== "Z" && zone !== undefined) {
    const sign = zone.startsWith("-") ? -1n : 1n;
    const offsetMin = BigInt(Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    micros -= sign * offsetMin * 60_000_000n;
  }
  return micros;
}

/** Formats epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function formatMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 19)}.${sub.toString().padStart(6, "0")}Z`;
}

/**
 * Converts Kraken's REST `time` (seconds as a decimal token, up to 7 fractional digits, e.g.
 * "1762795433.9717445") to epoch microseconds without passing through a binary float.
 * Callers must hand over the original JSON token text, not a parsed number.
 */
export function secondsTokenToMicros(token: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(token);
  if (!m) throw new TimeFormatError(`not a seconds value: ${JSON.stringify(token)}`);
  const [, whole = "0", frac = ""] = m;
  const fracDigits = `${frac}000000`.slice(0, 6);
  return BigInt(whole) * 1_000_000n + BigInt(fracDigits);
}

/** Nanosecond cursor string (Kraken `last`/`since`) from epoch microseconds. */
export function microsToNanosString(micros: bigint): string {
  return (micros * 1000n).toString();
}

export function nowMicros(): bigint {
  // performance.timeOrigin + now() gives sub-ms resolution; keep µs.
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

export function nowRfc3339(): string {
  return formatMicros(nowMicros());
}

/** UTC calendar parts used for Hive partitions (zero-padded strings). */
/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
