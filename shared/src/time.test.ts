import { describe, expect, test } from "bun:test";
import {
  formatMicros,
  microsToNanosString,
  parseRfc3339Micros,
  secondsTokenToMicros,
  TimeFormatError,
} from "./time.ts";

describe("microsecond UTC time", () => {
  test("parses Kraken's 6-digit WS timestamps exactly and formats them back", () => {
    const t = "2023-07-30T15:29:58.343415Z";
    expect(parseRfc3339Micros(t)).toBe(1690730998343415n);
    expect(formatMicros(parseRfc3339Micros(t))).toBe(t);
  });

  test("truncates 9-digit (ns) timestamps to µs and applies offsets", () => {
    expect(formatMicros(parseRfc3339Micros("2024-05-15T11:20:43.013486999Z"))).toBe(
      "2024-05-15T11:20:43.013486Z",
    );
    expect(formatMicros(parseRfc3339Micros("2024-05-15T13:20:43.5+02:00"))).toBe(
      "2024-05-15T11:20:43.500000Z",
    );
  });

  test("rejects impossible dates and malformed text with TimeFormatError", () => {
    expect(() => parseRfc3339Micros("2023-02-30T00:00:00Z")).toThrow(TimeFormatError);
    expect(() => parseRfc3339Micros("yesterday")).toThrow(TimeFormatError);
    expect(() => parseRfc3339Micros("2023-13-01T00:00:00Z")).toThrow(TimeFormatError);
    expect(() => parseRfc3339Micros("2023-01-01T99:00:00Z")).toThrow(TimeFormatError);
    expect(() => parseRfc3339Micros("2023-01-01T00:60:00Z")).toThrow(TimeFormatError);
  });

  test("REST seconds tokens keep their digits where a double would not", () => {
    // 1762795433.9717445 as a double is 1762795433.9717445373535156: float maths would drift.
    expect(secondsTokenToMicros("1762795433.9717445")).toBe(1762795433971744n);
    expect(secondsTokenToMicros("1548111751.5556")).toBe(1548111751555600n);
    expect(microsToNanosString(1762820035982277n)).toBe("1762820035982277000");
  });

  test("handles instants before 1970", () => {
    expect(formatMicros(-1n)).toBe("1969-12-31T23:59:59.999999Z");
  });
});
