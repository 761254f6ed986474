import { describe, expect, test } from "bun:test";
import { compareDecimal, DecimalFormatError, numberTokenToDecimal, toScale } from "./decimal.ts";

describe("exact decimals", () => {
  test("toScale pads to the pair precision and never rounds", () => {
    expect(toScale("4.0", 8)).toBe("4.00000000");
    expect(toScale("105433.6", 5)).toBe("105433.60000");
    expect(toScale("1.2300", 2)).toBe("1.23");
    expect(() => toScale("1.234", 2)).toThrow(DecimalFormatError);
    expect(() => toScale("1e5", 2)).toThrow(DecimalFormatError);
  });

  test("JSON number tokens become exact decimal strings, exponents expanded", () => {
    expect(numberTokenToDecimal("0.00044780")).toBe("0.00044780");
    expect(numberTokenToDecimal("1.5e-7")).toBe("0.00000015");
    expect(numberTokenToDecimal("2E3")).toBe("2000");
    expect(numberTokenToDecimal("-0.5")).toBe("-0.5");
  });

  test("compareDecimal orders values exactly", () => {
    expect(compareDecimal("0.1", "0.10")).toBe(0);
    expect(compareDecimal("100000000000000000.1", "100000000000000000.01")).toBe(1);
    expect(compareDecimal("-2", "1")).toBe(-1);
  });
});
