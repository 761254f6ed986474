import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  parseBrDate,
  parseBrDecimal,
  parseTesouroCsv,
  parseTesouroLine,
  TESOURO_HEADER,
  TesouroFormatError,
} from "./csv.ts";
import { DEFAULT_SAMPLE_FILE } from "./loader.ts";

describe("Tesouro Direto CSV", () => {
  test("the real sample parses completely: 19,918 rows, no problems, 361 base dates", () => {
    const parsed = [...parseTesouroCsv(readFileSync(DEFAULT_SAMPLE_FILE, "utf8"))];
    const rows = parsed.flatMap((p) => ("row" in p ? [p.row] : []));
    expect(parsed.filter((p) => "problem" in p)).toEqual([]);
    expect(rows).toHaveLength(19_918);
    expect(new Set(rows.map((r) => r.base_date)).size).toBe(361);
    expect(rows[0]).toEqual({
      bond_type: "Tesouro IPCA+ com Juros Semestrais",
      maturity_date: "2032-08-15",
      base_date: "2025-04-22",
      buy_rate: "7.64",
      sell_rate: "7.76",
      buy_price: "4154.13",
      sell_price: "4125.25",
      base_price: "4125.25",
    });
    expect(rows.some((r) => r.base_date === "2024-08-15")).toBe(true);
  });

  test("15/08/2024 is 2024-08-15: text to text, no time zone involved", () => {
    const previous = process.env.TZ;
    process.env.TZ = "America/Sao_Paulo";
    try {
      expect(parseBrDate("15/08/2024")).toBe("2024-08-15");
    } finally {
      process.env.TZ = previous;
    }
    expect(parseBrDate("29/02/2024")).toBe("2024-02-29");
    expect(parseBrDate("29/02/2023")).toBeNull();
    expect(parseBrDate("31/04/2024")).toBeNull();
    expect(parseBrDate("2024-08-15")).toBeNull();
  });

  test("decimal commas become exact decimal strings; -0,00 is zero; empty is NULL, never 0", () => {
    expect(parseBrDecimal("4154,13")).toBe("4154.13");
    expect(parseBrDecimal("7,6")).toBe("7.60");
    expect(parseBrDecimal("-0,03")).toBe("-0.03");
    expect(parseBrDecimal("-0,00")).toBe("0.00");
    expect(parseBrDecimal("0012,50")).toBe("12.50");
    expect(parseBrDecimal("")).toBeNull();
    expect(parseBrDecimal("4.154,13")).toBeUndefined();
    expect(parseBrDecimal("1,234")).toBeUndefined();
    expect(parseBrDecimal("1,230")).toBe("1.23");
  });

  test("a malformed row is reported with line, column and value, and parsing goes on", () => {
    const text = [
      TESOURO_HEADER,
      "Tesouro Selic;01/03/2027;15/08/2024;-0,00;0,01;15234,56;15230,11;15230,11",
      "Tesouro Selic;01/03/2027;32/08/2024;0,10;0,11;1,00;1,00;1,00",
      "Tesouro Selic;01/03/2027;16/08/2024;abc;0,11;1,00;1,00;1,00",
      "Tesouro Selic;01/03/2027",
      "Tesouro IPCA+;15/05/2035;16/08/2024;7,60;7,72;2159,44;2134,58;2134,58",
    ].join("\n");
    const parsed = [...parseTesouroCsv(text)];
    expect(parsed.map((p) => ("row" in p ? p.line : -p.line))).toEqual([2, -3, -4, -5, 6]);
    const problems = parsed.flatMap((p) => ("problem" in p ? [p.problem] : []));
    expect(problems.map((p) => [p.line, p.column, p.value])).toEqual([
      [3, "Data Base", "32/08/2024"],
      [4, "Taxa Compra Manha", "abc"],
      [5, "*", "Tesouro Selic;01/03/2027"],
    ]);
    expect(problems[1]?.reason).toContain("decimal");
  });

  test("a file that is not Tesouro's is refused at the header", () => {
    expect(() => [...parseTesouroCsv("a;b\n1;2")]).toThrow(TesouroFormatError);
    expect(parseTesouroLine("Tesouro Selic;01/03/2027;15/08/2024;;;;;\r", 9)).toMatchObject({
      row: { buy_rate: null, base_price: null },
    });
  });
});
