import { describe, expect, test } from "bun:test";
import { defineParams, ParamError, parseParamArgs } from "./params.ts";

describe("defineParams", () => {
  const defaults = { symbols: ["BTC/USD"], minutes: 180, detailed: false, title: "x" };

  test("returns the defaults when nothing is overridden", () => {
    expect(defineParams(defaults, {})).toEqual(defaults);
  });

  test("coerces overrides to the type of each default", () => {
    const p = defineParams(defaults, {
      symbols: "BTC/USD, ETH/USD",
      minutes: "60",
      detailed: "true",
      title: "y",
    });
    expect(p).toEqual({ symbols: ["BTC/USD", "ETH/USD"], minutes: 60, detailed: true, title: "y" });
  });

  test("overrides for parameters a notebook does not declare are ignored", () => {
    expect(defineParams({ n: 1 }, { other: "2" })).toEqual({ n: 1 });
  });

  test("a value that does not fit stops with a message naming the parameter", () => {
    expect(() => defineParams(defaults, { minutes: "soon" })).toThrow(ParamError);
    expect(() => defineParams(defaults, { minutes: "soon" })).toThrow(/minutes=soon/);
    expect(() => defineParams(defaults, { detailed: "maybe" })).toThrow(/detailed=maybe/);
  });
});

describe("parseParamArgs", () => {
  test("splits key=value at the first = only", () => {
    expect(parseParamArgs(["a=1", "sql=x=y"])).toEqual({ a: "1", sql: "x=y" });
  });

  test("rejects pairs without a key or =", () => {
    expect(() => parseParamArgs(["novalue"])).toThrow(/key=value/);
    expect(() => parseParamArgs(["=1"])).toThrow(ParamError);
    expect(() => parseParamArgs(["bad-key=1"])).toThrow(/bad key/);
  });
});
