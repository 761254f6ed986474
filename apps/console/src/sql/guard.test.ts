import { describe, expect, test } from "bun:test";
import { checkLakePath, checkText, QueryRefused, stripLiteralsAndComments } from "./guard.ts";

describe("SQL guard, text rules", () => {
  test("forbidden words inside strings, quoted names and comments do not count", () => {
    expect(() =>
      checkText("SELECT 'COPY this' AS note, 1 AS \"update\" -- DROP\n/* ATTACH */ FROM silver.trades"),
    ).not.toThrow();
    expect(stripLiteralsAndComments("SELECT 'it''s SET' AS a -- x\n, $$LOAD$$ AS b")).not.toMatch(/SET|LOAD/);
  });

  test("a forbidden word outside quotes is refused, naming the first one in the text", () => {
    try {
      checkText("UPDATE t SET x = 1");
      throw new Error("expected a refusal");
    } catch (err) {
      expect(err).toBeInstanceOf(QueryRefused);
      expect((err as QueryRefused).message).toStartWith("UPDATE is not allowed");
      expect((err as QueryRefused).rule).toBe("keyword");
    }
  });

  test("words that merely contain a forbidden word are fine", () => {
    expect(() => checkText("SELECT settled, reset_at, copyright, loaded FROM silver.trades")).not.toThrow();
  });
});

describe("SQL guard, lake paths", () => {
  const roots = ["/lake/bronze", "/lake/silver", "/lake/gold"];

  test("absolute Parquet paths and globs inside a layer are allowed", () => {
    expect(() => checkLakePath("/lake/bronze/kraken_trades/**/*.parquet", roots)).not.toThrow();
    expect(() => checkLakePath("/lake/gold/x/part-0.parquet", roots)).not.toThrow();
  });

  test("relative paths, traversal, other layers' siblings and non-Parquet files are refused", () => {
    for (const p of [
      "bronze/x.parquet",
      "/lake/bronze/../../etc/x.parquet",
      "/lake/bronze",
      "/lakehouse/bronze/x.parquet",
      "/lake/_tributary/x.parquet",
    ]) {
      expect(() => checkLakePath(p, roots)).toThrow("outside the lake");
    }
    expect(() => checkLakePath("/lake/silver/x.csv", roots)).toThrow("not a Parquet file");
    expect(() => checkLakePath("https://example.com/x.parquet", roots)).toThrow("only files inside the lake");
  });
});
