import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "./args.ts";

describe("parseArgs", () => {
  test("names, repeated --param, --timeout in seconds, --out, --lake, --json", () => {
    const a = parseArgs([
      "market-overview",
      "--param",
      "minutes=60",
      "-p",
      "symbols=BTC/USD",
      "--timeout=45",
      "--out",
      "/tmp/o",
      "--lake",
      "/tmp/l",
      "tesouro",
      "--json",
    ]);
    expect(a.names).toEqual(["market-overview", "tesouro"]);
    expect(a.params).toEqual({ minutes: "60", symbols: "BTC/USD" });
    expect(a.timeoutMs).toBe(45_000);
    expect(a.outDir).toBe("/tmp/o");
    expect(a.lakeUri).toBe("/tmp/l");
    expect(a.json).toBe(true);
  });

  test("defaults: every notebook, 300 s timeout", () => {
    const a = parseArgs([]);
    expect(a.names).toEqual([]);
    expect(a.timeoutMs).toBe(300_000);
    expect(a.outDir).toBeUndefined();
  });

  test("bad input is a UsageError naming the problem", () => {
    expect(() => parseArgs(["--timeout", "soon"])).toThrow(UsageError);
    expect(() => parseArgs(["--timeout", "0"])).toThrow(/--timeout 0/);
    expect(() => parseArgs(["--param"])).toThrow(/needs a value/);
    expect(() => parseArgs(["--param", "nokey"])).toThrow(/key=value/);
    expect(() => parseArgs(["--frobnicate"])).toThrow(/unknown option --frobnicate/);
  });
});
