/**
 * The value encodings that depend on Debezium's settings: numeric (`decimal.handling.mode`), date,
 * time and timestamp (`time.precision.mode`) and interval (`interval.handling.mode`), each written
 * exactly as Debezium 3.6's PostgreSQL connector writes it with the JSON converter (proved by
 * e2e/cdc/debezium.test.ts). Where Debezium loses a value (numeric NaN/Infinity in precise mode), the
 * lossless extension is listed in docs/cdc.md.
 */
import type { CdcEnvelopeSettings } from "@tributary/shared/cdc/debezium-connector";
import { daysFromCivil } from "@tributary/shared/time";
import { ColumnValueError, type EncodedValue, rawNumber, type ValueConverter } from "./encoded-value.ts";

const frac = (f: string | undefined): string => {
  const t = (f ?? "").replace(/0+$/, "");
  return t.length > 0 ? `.${t}` : "";
};

const DATE = /^(\d{4,})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const TIMESTAMP = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;

function micros6(f: string | undefined): number {
  return Number((f ?? "").padEnd(6, "0"));
}

function timeMicros(t: string): number {
  const m = TIME.exec(t);
  if (!m) throw new ColumnValueError(`time not in ISO form: ${JSON.stringify(t)}`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000_000 + micros6(m[4]);
}

function dateDays(t: string): number {
  const m = DATE.exec(t);
  if (!m)
    throw new ColumnValueError(`date not in ISO form (session DateStyle must be ISO): ${JSON.stringify(t)}`);
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** µs since the epoch as an exact JSON integer (beyond 2^53 for far dates, so written as text). */
function timestampMicros(t: string): bigint {
  const m = TIMESTAMP.exec(t);
  if (!m) throw new ColumnValueError(`timestamp not in ISO form: ${JSON.stringify(t)}`);
  return (
    BigInt(dateDays(m[1] as string)) * 86_400_000_000n +
    BigInt(timeMicros(`${m[2]}${m[3] ? `.${m[3]}` : ""}`))
  );
}

/** Precision of time(p)/timestamp(p) from its type modifier; -1 (none) means 6. */
const precisionOf = (typeMod: number): number => (typeMod < 0 ? 6 : typeMod);

export function dateConverter(s: CdcEnvelopeSettings): ValueConverter {
  if (s.timePrecisionMode === "isostring") {
    return (t) => {
      if (!DATE.test(t)) throw new ColumnValueError(`date not in ISO form: ${JSON.stringify(t)}`);
      return `${t}Z`;
    };
  }
  return (t) => dateDays(t);
}

export function timeConverter(s: CdcEnvelopeSettings, typeMod: number): ValueConverter {
  const mode = s.timePrecisionMode;
  if (mode === "isostring") {
    return (t) => {
      const m = TIME.exec(t);
      if (!m) throw new ColumnValueError(`time not in ISO form: ${JSON.stringify(t)}`);
      return `${m[1]}:${m[2]}:${m[3]}${frac(m[4])}Z`;
    };
  }
  const millis = mode === "connect" || (mode === "adaptive" && precisionOf(typeMod) <= 3);
  return millis ? (t) => Math.floor(timeMicros(t) / 1000) : (t) => timeMicros(t);
}

export function timestampConverter(s: CdcEnvelopeSettings, typeMod: number): ValueConverter {
  const mode = s.timePrecisionMode;
  if (mode === "isostring") {
    return (t) => {
      const m = TIMESTAMP.exec(t);
      if (!m) return t; // infinity, BC: PostgreSQL's text
      return `${m[1]}T${m[2]}${frac(m[3])}Z`;
    };
  }
  const millis = mode === "connect" || precisionOf(typeMod) <= 3;
  return (t) => {
    if (!TIMESTAMP.test(t)) return t;
    const us = timestampMicros(t);
    const v = millis ? (us >= 0n ? us / 1000n : -((-us + 999n) / 1000n)) : us;
    return rawNumber(v.toString());
  };
}

const NUMERIC_SPECIAL: Readonly<Record<string, string>> = {
  NaN: "NAN",
  Infinity: "POSITIVE_INFINITY",
  "-Infinity": "NEGATIVE_INFINITY",
};

/** Two's-complement big-endian bytes of an integer, minimal length (Java's BigInteger.toByteArray). */
function twosComplement(n: bigint): Uint8Array {
  const length = Math.floor(bitLength(n) / 8) + 1; // the magnitude's bits and a sign bit, in whole bytes
  const bits = n < 0n ? (1n << BigInt(8 * length)) + n : n;
  return Buffer.from(bits.toString(16).padStart(2 * length, "0"), "hex");
}

function bitLength(n: bigint): number {
  const a = n < 0n ? -n - 1n : n;
  return a === 0n ? 0 : a.toString(2).length;
}

/** `123.45` at scale s → the unscaled integer (exact; the text never has more digits than s). */
function unscaled(t: string, scale: number): bigint {
  const neg = t.startsWith("-");
  const [int = "0", f = ""] = (neg ? t.slice(1) : t).split(".");
  const v = BigInt(int + f.padEnd(scale, "0").slice(0, scale));
  return neg ? -v : v;
}

export function numericConverter(s: CdcEnvelopeSettings, typeMod: number): ValueConverter {
  const mode = s.decimalHandlingMode;
  if (mode === "string") return (t) => NUMERIC_SPECIAL[t] ?? t;
  if (mode === "double") return (t) => (t in NUMERIC_SPECIAL ? t : rawNumber(String(Number(t))));
  // precise: Kafka Connect's Decimal (bytes, base64) for numeric(p,s); Debezium's VariableScaleDecimal otherwise.
  const fixedScale = typeMod >= 4 ? (typeMod - 4) & 0xffff : null;
  return (t): EncodedValue => {
    if (t in NUMERIC_SPECIAL) return t; // lossless extension: Debezium writes null
    // VariableScaleDecimal: Debezium strips trailing zeros (1.10 → scale 1), never below scale 0.
    const scale = fixedScale ?? (t.split(".")[1] ?? "").replace(/0+$/, "").length;
    const value = Buffer.from(twosComplement(unscaled(t, scale))).toString("base64");
    return fixedScale === null ? ({ scale, value } as unknown as EncodedValue) : value;
  };
}

const INTERVAL =
  /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d+)?)S)?)?$/;

interface IntervalParts {
  readonly y: number;
  readonly mo: number;
  readonly d: number;
  readonly h: number;
  readonly mi: number;
  readonly s: string;
}

function intervalParts(t: string): IntervalParts {
  const m = INTERVAL.exec(t);
  if (!m)
    throw new ColumnValueError(
      `interval not in ISO 8601 form (IntervalStyle=iso_8601): ${JSON.stringify(t)}`,
    );
  const n = (i: number) => Number(m[i] ?? 0);
  return { y: n(1), mo: n(2), d: n(3) * 7 + n(4), h: n(5), mi: n(6), s: m[7] ?? "0" };
}

export function intervalConverter(s: CdcEnvelopeSettings): ValueConverter {
  if (s.intervalHandlingMode === "string") {
    return (t) => {
      const p = intervalParts(t);
      return `P${p.y}Y${p.mo}M${p.d}DT${p.h}H${p.mi}M${p.s}S`;
    };
  }
  // numeric: Debezium's MicroDuration, months at 365.25 / 12 days.
  return (t) => {
    const p = intervalParts(t);
    const months = p.y * 12 + p.mo;
    const seconds = months * (365.25 / 12) * 86_400 + p.d * 86_400 + p.h * 3600 + p.mi * 60 + Number(p.s);
    return rawNumber(String(Math.trunc(seconds * 1_000_000)));
  };
}
