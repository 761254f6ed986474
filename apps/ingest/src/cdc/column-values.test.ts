import { describe, expect, test } from "bun:test";
import { type CdcEnvelopeSettings, DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import { ColumnValueError, converterFor, OID, parseArrayLiteral } from "./column-values.ts";

const json = (v: unknown): string => JSON.stringify(v);

describe("PostgreSQL text → JSON column values", () => {
  test("dates stay the calendar date they are, whatever the process time zone", () => {
    const previous = process.env.TZ;
    process.env.TZ = "America/Sao_Paulo";
    try {
      expect(converterFor(OID.date)("2024-08-15")).toBe("2024-08-15Z");
      expect(converterFor(OID.timestamp)("2024-08-15 00:00:00")).toBe("2024-08-15T00:00:00Z");
    } finally {
      process.env.TZ = previous;
    }
    expect(() => converterFor(OID.date)("08/15/2024")).toThrow(ColumnValueError);
  });

  test("timestamps keep microseconds (Debezium's isostring: minimal fraction, Z); timestamptz is UTC with six digits", () => {
    expect(converterFor(OID.timestamp)("2024-08-15 23:59:59.999999")).toBe("2024-08-15T23:59:59.999999Z");
    expect(converterFor(OID.timestamp)("2024-08-15 23:59:59.5")).toBe("2024-08-15T23:59:59.5Z");
    expect(converterFor(OID.timestamptz)("2024-08-15 06:00:00.5+00")).toBe("2024-08-15T06:00:00.500000Z");
    expect(() => converterFor(OID.timestamptz)("2024-08-15 03:00:00-03")).toThrow(
      "session TimeZone must be UTC",
    );
    expect(converterFor(OID.time)("10:11:12")).toBe("10:11:12Z");
  });

  test("numeric is the exact decimal string; int8 and floats are exact JSON numbers", () => {
    expect(converterFor(OID.numeric)("1234567890.123456789")).toBe("1234567890.123456789");
    expect(converterFor(OID.numeric)("NaN")).toBe("NAN");
    expect(converterFor(OID.numeric)("-Infinity")).toBe("NEGATIVE_INFINITY");
    expect(json({ v: converterFor(OID.int8)("9007199254740993") })).toBe('{"v":9007199254740993}');
    expect(json({ v: converterFor(OID.float8)("0.1") })).toBe('{"v":0.1}');
    expect(json({ v: converterFor(OID.float8)("1e+300") })).toBe('{"v":1e+300}');
    expect(converterFor(OID.float8)("-Infinity")).toBe("-Infinity");
    expect(converterFor(OID.int4)("-42")).toBe(-42);
  });

  test("bool, bytea (base64), json kept as text, unknown types as text", () => {
    expect(converterFor(OID.bool)("t")).toBe(true);
    expect(converterFor(OID.bool)("f")).toBe(false);
    expect(converterFor(OID.bytea)("\\x48656c6c6f")).toBe("SGVsbG8=");
    expect(converterFor(OID.jsonb)('{"a": 1.10}')).toBe('{"a": 1.10}');
    expect(converterFor(99999)("happy")).toBe("happy");
  });

  test("arrays: quoting, escapes, NULL, nesting, explicit bounds, element types", () => {
    expect(parseArrayLiteral('{"a b","c\\"d",NULL,plain}')).toEqual(["a b", 'c"d', null, "plain"]);
    expect(parseArrayLiteral("{{1,2},{3,4}}")).toEqual([
      ["1", "2"],
      ["3", "4"],
    ]);
    expect(parseArrayLiteral("[0:1]={7,8}")).toEqual(["7", "8"]);
    expect(parseArrayLiteral("{}")).toEqual([]);
    expect(json(converterFor(1016)("{9007199254740993,NULL}"))).toBe("[9007199254740993,null]");
    expect(converterFor(1231)("{1.10,-0.5}")).toEqual(["1.10", "-0.5"]);
    expect(converterFor(1182)("{2024-08-15}")).toEqual(["2024-08-15Z"]);
    expect(() => parseArrayLiteral("{1,2")).toThrow(ColumnValueError);
  });
});

describe("Debezium's other settings", () => {
  const settings = (over: Partial<CdcEnvelopeSettings>): CdcEnvelopeSettings => ({
    ...DEFAULT_ENVELOPE,
    ...over,
  });
  const adaptive = settings({ timePrecisionMode: "adaptive" });

  test("adaptive time: dates as epoch days, time(≤3) and timestamp(≤3) in ms, else µs", () => {
    expect(converterFor(OID.date, -1, adaptive)("2024-08-15")).toBe(19950);
    expect(converterFor(OID.date, -1, adaptive)("1969-12-31")).toBe(-1);
    expect(converterFor(OID.time, -1, adaptive)("10:11:12.5")).toBe(36_672_500_000);
    expect(converterFor(OID.time, 3, adaptive)("10:11:12.5")).toBe(36_672_500);
    expect(json(converterFor(OID.timestamp, -1, adaptive)("2024-08-15 10:11:12.123456"))).toBe(
      "1723716672123456",
    );
    expect(json(converterFor(OID.timestamp, 3, adaptive)("2024-08-15 10:11:12.123"))).toBe("1723716672123");
    expect(json(converterFor(OID.timestamp, 3, adaptive)("1969-12-31 23:59:59.999"))).toBe("-1");
    expect(
      converterFor(OID.time, 3, settings({ timePrecisionMode: "adaptive_time_microseconds" }))("00:00:01"),
    ).toBe(1_000_000);
  });

  test("precise decimals: Kafka Connect Decimal bytes for numeric(p,s), VariableScaleDecimal otherwise", () => {
    const precise = settings({ decimalHandlingMode: "precise" });
    const typmod = (p: number, s: number) => ((p << 16) | s) + 4;
    expect(converterFor(OID.numeric, typmod(10, 2), precise)("12.34")).toBe("BNI="); // Debezium's own output
    expect(converterFor(OID.numeric, typmod(10, 2), precise)("-1.00")).toBe("nA=="); // BigInteger(-100).toByteArray()
    expect(converterFor(OID.numeric, typmod(10, 2), precise)("1.28")).toBe("AIA=");
    // Negative values sign-extend to whole bytes only: -1 is 0xff (Debezium's own output for -0.001).
    const bytes = (t: string, scale = 3) => converterFor(OID.numeric, typmod(12, scale), precise)(t);
    expect(bytes("-0.001")).toBe("/w==");
    expect(bytes("-0.002")).toBe("/g==");
    expect(bytes("-0.129")).toBe("/38=");
    expect(bytes("-32.768")).toBe("gAA=");
    expect(bytes("0.000")).toBe("AA==");
    // VariableScaleDecimal: trailing zeros stripped, never below scale 0 (Debezium's own output for 1.10).
    expect(converterFor(OID.numeric, -1, precise)("1.10")).toEqual({ scale: 1, value: "Cw==" });
    expect(converterFor(OID.numeric, -1, precise)("100")).toEqual({ scale: 0, value: "ZA==" });
    expect(converterFor(OID.numeric, -1, precise)("-0.50")).toEqual({ scale: 1, value: "+w==" });
  });

  test("intervals: Debezium's ISO form with every component, or µs at 365.25/12 days a month", () => {
    expect(converterFor(OID.interval)("P1Y2M3DT4H5M6.5S")).toBe("P1Y2M3DT4H5M6.5S");
    expect(converterFor(OID.interval)("P-1DT-1S")).toBe("P0Y0M-1DT0H0M-1S");
    expect(converterFor(OID.interval)("PT0S")).toBe("P0Y0M0DT0H0M0S");
    expect(
      json(converterFor(OID.interval, -1, settings({ intervalHandlingMode: "numeric" }))("P1DT2H")),
    ).toBe("93600000000");
  });
});
