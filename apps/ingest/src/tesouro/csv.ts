/**
 * Parser for Tesouro Direto's `PrecoTaxaTesouroDireto.csv`: `;`-separated, decimal commas,
 * dd/mm/yyyy dates. Everything stays text: `4154,13` → `4154.13`, `15/08/2024` → `2024-08-15`,
 * with no float and no Date object on the way, so no rounding and no time zone can touch a value.
 * A malformed row is reported with its line, column and value, and parsing goes on.
 */

export const TESOURO_HEADER =
  "Tipo Titulo;Data Vencimento;Data Base;Taxa Compra Manha;Taxa Venda Manha;PU Compra Manha;PU Venda Manha;PU Base Manha";

const COLUMNS = TESOURO_HEADER.split(";");

export interface TesouroRow {
  readonly bond_type: string;
  /** ISO `YYYY-MM-DD`. */
  readonly maturity_date: string;
  readonly base_date: string;
  /** Exact decimal strings with two fractional digits; null when the field is empty. */
  readonly buy_rate: string | null;
  readonly sell_rate: string | null;
  readonly buy_price: string | null;
  readonly sell_price: string | null;
  readonly base_price: string | null;
}

export const TESOURO_FIELDS = [
  "bond_type",
  "maturity_date",
  "base_date",
  "buy_rate",
  "sell_rate",
  "buy_price",
  "sell_price",
  "base_price",
] as const satisfies readonly (keyof TesouroRow)[];

export interface RowProblem {
  /** 1-based line number in the file (the header is line 1). */
  readonly line: number;
  readonly column: string;
  readonly value: string;
  readonly reason: string;
  readonly raw: string;
}

export type ParsedLine =
  | { readonly line: number; readonly row: TesouroRow }
  | { readonly line: number; readonly problem: RowProblem };

export class TesouroFormatError extends Error {
  override readonly name = "TesouroFormatError";
}

/** `15/08/2024` → `2024-08-15`, or null if it is not a real calendar date. */
export function parseBrDate(text: string): string | null {
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
  if (!m) return null;
  const [, dd, mm, yyyy] = m as unknown as [string, string, string, string];
  const day = Number(dd);
  const month = Number(mm);
  const year = Number(yyyy);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return `${yyyy}-${mm}-${dd}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * `4154,13` → `4154.13`; `7,6` → `7.60`; empty → null. At most `scale` fractional digits.
 * PostgreSQL NUMERIC has no negative zero, so `-0,00` (Tesouro Selic rates) becomes `0.00`:
 * numerically equal, and the same text the database returns.
 */
export function parseBrDecimal(text: string, scale = 2): string | null | undefined {
  if (text === "") return null;
  const m = /^(-?)(\d+)(?:,(\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign = "", whole = "", frac = ""] = m;
  if (frac.length > scale && /[^0]/.test(frac.slice(scale))) return undefined;
  const digits = `${whole.replace(/^0+(?=\d)/, "")}.${frac.slice(0, scale).padEnd(scale, "0")}`;
  return sign && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

function problem(line: number, column: string, value: string, reason: string, raw: string): ParsedLine {
  return { line, problem: { line, column, value, reason, raw } };
}

/** Parses one data line (no trailing newline). */
export function parseTesouroLine(raw: string, line: number): ParsedLine {
  const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  const f = text.split(";");
  if (f.length !== COLUMNS.length) {
    return problem(
      line,
      "*",
      text,
      `expected ${COLUMNS.length} fields separated by ';', found ${f.length}`,
      text,
    );
  }
  const bondType = f[0] as string;
  if (bondType.trim() === "" || bondType !== bondType.trim()) {
    return problem(
      line,
      COLUMNS[0] as string,
      bondType,
      "bond type must be non-empty without surrounding spaces",
      text,
    );
  }
  const dates: string[] = [];
  for (const i of [1, 2]) {
    const v = f[i] as string;
    const iso = parseBrDate(v);
    if (!iso) return problem(line, COLUMNS[i] as string, v, "not a dd/mm/yyyy calendar date", text);
    dates.push(iso);
  }
  const decimals: (string | null)[] = [];
  for (const i of [3, 4, 5, 6, 7]) {
    const v = f[i] as string;
    const d = parseBrDecimal(v);
    if (d === undefined)
      return problem(
        line,
        COLUMNS[i] as string,
        v,
        "not a decimal with a comma and at most 2 decimal places",
        text,
      );
    decimals.push(d);
  }
  const [buy_rate, sell_rate, buy_price, sell_price, base_price] = decimals as [
    string | null,
    string | null,
    string | null,
    string | null,
    string | null,
  ];
  return {
    line,
    row: {
      bond_type: bondType,
      maturity_date: dates[0] as string,
      base_date: dates[1] as string,
      buy_rate,
      sell_rate,
      buy_price,
      sell_price,
      base_price,
    },
  };
}

/** Parses a whole file. Throws only when the header is not Tesouro's; bad rows come back as problems. */
export function* parseTesouroCsv(text: string): Generator<ParsedLine> {
  const lines = text.split("\n");
  const header = (lines[0] ?? "").replace(/\r$/, "").replace(/^\uFEFF/, "");
  if (header !== TESOURO_HEADER) {
    throw new TesouroFormatError(
      `line 1: expected the header ${JSON.stringify(TESOURO_HEADER)}, found ${JSON.stringify(header.slice(0, 200))}`,
    );
  }
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (raw.trim() === "") continue;
    yield parseTesouroLine(raw, i + 1);
  }
}
