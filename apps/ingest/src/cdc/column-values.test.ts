import { describe, expect, test } from "bun:test";
import { ColumnValueError, converterFor, OID, parseArrayLiteral } from "./column-values.ts";

const json = (v: unknown): string => JSON.stringify(v);

describe("PostgreSQL text → JSON column values", () => {
  test("dates stay the calendar date they are, whatever the process time zone", () => {
    const previous = process.env.TZ;
    process.env.TZ = "America/Sao_Paulo";
    try {
      expect(converterFor(OID.date)("2024-08-15")).toBe("2024-08-15");
      expect(converterFor(OID.timestamp)("2024-08-15 00:00:00")).toBe("2024-08-15T00:00:00.000000");
    } finally {
      process.env.TZ = previous;
    }
    expect(converterFor(OID.date)("infinity")).toBe("infinity");
    expect(() => converterFor(OID.date)("08/15/2024")).toThrow(ColumnValueError);
  });

  test("timestamps keep microseconds; timestamptz is UTC with Z", () => {
    expect(converterFor(OID.timestamp)("2024-08-15 23:59:59.999999")).toBe("2024-08-15T23:59:59.999999");
    expect(converterFor(OID.timestamptz)("2024-08-15 06:00:00.5+00")).toBe("2024-08-15T06:00:00.500000Z");
    expect(() => converterFor(OID.timestamptz)("2024-08-15 03:00:00-03")).toThrow(
      "session TimeZone must be UTC",
    );
    expect(converterFor(OID.time)("10:11:12")).toBe("10:11:12.000000");
  });

  test("numeric is the exact decimal string; int8 and floats are exact JSON numbers", () => {
    expect(converterFor(OID.numeric)("1234567890.123456789")).toBe("1234567890.123456789");
    expect(converterFor(OID.numeric)("NaN")).toBe("NaN");
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
    expect(converterFor(1182)("{2024-08-15}")).toEqual(["2024-08-15"]);
    expect(() => parseArrayLiteral("{1,2")).toThrow(ColumnValueError);
  });
});
