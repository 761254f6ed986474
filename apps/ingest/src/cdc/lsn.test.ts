import { describe, expect, test } from "bun:test";
import { formatLsn, LsnFormatError, parseLsn } from "./lsn.ts";

describe("LSN text", () => {
  test("parses PostgreSQL's hi/lo hex form into the 64-bit WAL position", () => {
    expect(parseLsn("0/198FAC0")).toBe(0x198fac0n);
    expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn("FFFFFFFF/FFFFFFFF")).toBe(2n ** 64n - 1n);
  });

  test("formats back to the form pg_current_wal_lsn() prints", () => {
    expect(formatLsn((0x16n << 32n) | 0xb374d848n)).toBe("16/B374D848");
    expect(formatLsn(0n)).toBe("0/0");
  });

  test("refuses text that is not an LSN, naming it", () => {
    expect(() => parseLsn("16-B374D848")).toThrow(LsnFormatError);
    expect(() => parseLsn("")).toThrow('not an LSN: ""');
  });
});
