/**
 * Names of the challenge's hourly CSV files: `KRAKEN/HH_DD_MM_YY_BTC_USD.csv` by default, where the
 * hour, day, month and two-digit year are those of the file's hour *in the export time zone* (UTC
 * unless EXPORT_TIME_ZONE says otherwise). `14_11_04_22_BTC_USD.csv` is 11 April 2022, 14:00-14:59.
 *
 * In a zone with daylight saving time a local hour can occur twice (the autumn change): both UTC
 * hours then land in the same file. A local hour that does not exist (the spring change) has no file.
 */

export const PLACEHOLDERS = ["HH", "DD", "MM", "YY", "YYYY", "SYMBOL"] as const;

export class ExportPatternError extends Error {
  override readonly name = "ExportPatternError";
}

/** A local clock hour in the export time zone. */
export interface LocalHour {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

export function localHourId(h: LocalHour): string {
  return `${pad(h.year, 4)}-${pad(h.month)}-${pad(h.day)}T${pad(h.hour)}`;
}

export function parseLocalHourId(id: string): LocalHour {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/.exec(id);
  if (!m) throw new ExportPatternError(`not a local hour id: ${id}`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]) };
}

/** Checks that a pattern names one file per symbol and hour, and stays inside the export dir. */
export function checkPattern(pattern: string): void {
  const unknown = [...pattern.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1] as string)
    .filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length > 0)
    throw new ExportPatternError(`EXPORT_PATTERN has unknown placeholders: ${unknown.join(", ")}`);
  const needs = ["{HH}", "{DD}", "{MM}", "{SYMBOL}"];
  const missing = needs.filter((p) => !pattern.includes(p));
  if (!pattern.includes("{YY}") && !pattern.includes("{YYYY}")) missing.push("{YY} or {YYYY}");
  if (missing.length > 0) {
    throw new ExportPatternError(
      `EXPORT_PATTERN ${JSON.stringify(pattern)} must contain ${missing.join(", ")}`,
    );
  }
  if (pattern.startsWith("/") || pattern.split("/").some((s) => s === ".." || s === "." || s === "")) {
    throw new ExportPatternError(
      `EXPORT_PATTERN ${JSON.stringify(pattern)} must be a relative path without . or ..`,
    );
  }
}

/** The file's path relative to the export directory. `symbol` is its pair form (`BTC_USD`, shared/src/lake/layout.ts). */
export function csvRelativePath(pattern: string, h: LocalHour, symbol: string): string {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    HH: pad(h.hour),
    DD: pad(h.day),
    MM: pad(h.month),
    YY: pad(h.year % 100),
    YYYY: pad(h.year, 4),
    SYMBOL: symbol,
  };
  return pattern.replace(/\{(HH|DD|MM|YYYY|YY|SYMBOL)\}/g, (_, k: keyof typeof values) => values[k]);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local clock hour of an instant (epoch µs) in `timeZone`. */
export function localHourOf(micros: bigint, timeZone: string): LocalHour {
  const ms = Number(micros / 1000n - (micros % 1000n < 0n ? 1n : 0n));
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour") };
}

const QUARTER = 900_000_000n;
const HOUR = 3_600_000_000n;

/**
 * The UTC intervals [from, to) whose local hour is `h`: usually one hour; two for an hour repeated
 * by a daylight-saving change; none for an hour skipped by one. Offsets are multiples of 15 minutes.
 */
export function utcRangesOfLocalHour(h: LocalHour, timeZone: string): Array<{ from: bigint; to: bigint }> {
  const asUtc = BigInt(Date.UTC(h.year, h.month - 1, h.day, h.hour)) * 1000n;
  const ranges: Array<{ from: bigint; to: bigint }> = [];
  const id = localHourId(h);
  // Offsets lie within ±15 h; scan every quarter hour of that window.
  for (let t = asUtc - 15n * HOUR; t < asUtc + 15n * HOUR; t += QUARTER) {
    if (localHourId(localHourOf(t, timeZone)) !== id) continue;
    const last = ranges.at(-1);
    if (last && last.to === t) last.to = t + QUARTER;
    else ranges.push({ from: t, to: t + QUARTER });
  }
  return ranges;
}

/** Every local hour that overlaps the UTC hour starting at `utcHour` (one, or two at odd offsets). */
export function localHoursOfUtcHour(utcHour: bigint, timeZone: string): LocalHour[] {
  const seen = new Map<string, LocalHour>();
  for (let t = utcHour; t < utcHour + HOUR; t += QUARTER) {
    const h = localHourOf(t, timeZone);
    seen.set(localHourId(h), h);
  }
  return [...seen.values()];
}
