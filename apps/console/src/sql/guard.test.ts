import { describe, expect, test } from "bun:test";
import { checkAst, checkLakePath, checkText, leadingKeyword, notASelect, QueryRefused } from "./guard.ts";

describe("SQL guard, text and statement rules", () => {
  test("empty, oversized and NUL-bearing texts are refused before DuckDB sees them", () => {
    expect(() => checkText("  ")).toThrow("the query is empty");
    expect(() => checkText(`SELECT '${"x".repeat(20_001)}'`)).toThrow("the limit is 20000");
    expect(() => checkText("SELECT 1\u0000")).toThrow("NUL character");
    expect(() => checkText("SELECT E'\\'' AS a, 1 AS set")).not.toThrow();
  });

  test("a statement that is not a SELECT is named by its first keyword, past comments and parentheses", () => {
    expect(leadingKeyword("  -- note\n/* x */ ((copy (SELECT 1) TO 'x'")).toBe("COPY");
    expect(leadingKeyword("-- only a comment")).toBeUndefined();
    const refusal = notASelect("attach 'x.db'", "an ATTACH statement");
    expect(refusal).toBeInstanceOf(QueryRefused);
    expect(refusal.rule).toBe("type");
    expect(refusal.message).toStartWith("ATTACH is not allowed");
  });

  test("the deny-list covers functions and catalog views, by name and case-insensitively", () => {
    const fn = { class: "FUNCTION", function_name: "Current_Setting", children: [] };
    expect(() => checkAst({ select_list: [fn] }, [])).toThrow("function current_setting() is not allowed");
    const view = { type: "BASE_TABLE", schema_name: "pg_catalog", table_name: "PG_SETTINGS" };
    expect(() => checkAst({ from_table: view }, [])).toThrow("the catalog view PG_SETTINGS is not allowed");
    const fine = { type: "BASE_TABLE", schema_name: "silver", table_name: "set" };
    expect(() => checkAst({ from_table: fine }, [])).not.toThrow();
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
