/**
 * Tables as MIME bundles: an HTML table (class `dataframe`, which Jupyter styles) and an aligned
 * text table. Long tables keep their head and tail around a "… N more rows …" line; wide text is cut.
 */
import type { Table } from "apache-arrow";
import { arrowRows } from "./arrow.ts";
import type { MimeBundle } from "./display.ts";

export interface TableOptions {
  /** Rows shown before truncation kicks in (head + tail). */
  readonly maxRows?: number;
  /** Characters shown per cell before the text is cut with "…". */
  readonly maxCellChars?: number;
  readonly caption?: string;
}

const DEFAULT_MAX_ROWS = 20;
const DEFAULT_MAX_CELL = 80;

export function isArrowTable(value: unknown): value is Table {
  return (
    value !== null &&
    typeof value === "object" &&
    "schema" in value &&
    "numRows" in value &&
    typeof (value as { getChildAt?: unknown }).getChildAt === "function"
  );
}

export function tableBundleFromArrow(table: Table, options: TableOptions = {}): MimeBundle {
  const columns = table.schema.fields.map((f) => f.name);
  return tableBundle(columns, arrowRows(table), options);
}

export function tableBundleFromRows(
  rows: readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): MimeBundle {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  return tableBundle(columns, rows, options);
}

/** A table display of rows; use from notebooks as `display(table(rows, { maxRows: 10 }))`. */
export function tableBundle(
  columns: readonly string[],
  rows: readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): MimeBundle {
  const maxRows = Math.max(2, options.maxRows ?? DEFAULT_MAX_ROWS);
  const maxCell = Math.max(4, options.maxCellChars ?? DEFAULT_MAX_CELL);
  const truncated = rows.length > maxRows;
  const headCount = truncated ? Math.ceil(maxRows / 2) : rows.length;
  const tailCount = truncated ? maxRows - headCount : 0;
  const head = rows.slice(0, headCount);
  const tail = truncated ? rows.slice(rows.length - tailCount) : [];
  const hidden = rows.length - head.length - tail.length;
  const text = (row: Readonly<Record<string, unknown>>, c: string): string =>
    cut(formatCell(row[c]), maxCell);
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => isNumeric(r[c])));

  const th = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const tr = (row: Readonly<Record<string, unknown>>): string =>
    `<tr>${columns
      .map((c, j) => {
        const v = row[c];
        const cls = v === null || v === undefined ? ' class="null"' : numeric[j] ? ' class="num"' : "";
        const style = numeric[j] ? ' style="text-align:right"' : "";
        return `<td${cls}${style}>${escapeHtml(text(row, c))}</td>`;
      })
      .join("")}</tr>`;
  const gap =
    hidden > 0
      ? `<tr class="gap"><td colspan="${columns.length}" style="text-align:center">… ${hidden.toLocaleString("en-US")} more rows …</td></tr>`
      : "";
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const footer = `<p class="table-shape">${rows.length.toLocaleString("en-US")} rows × ${columns.length} columns</p>`;
  const htmlTable = `<table class="dataframe">${caption}<thead><tr>${th}</tr></thead><tbody>${head.map(tr).join("")}${gap}${tail.map(tr).join("")}</tbody></table>${footer}`;

  const lines = [...head, ...tail].map((r) => columns.map((c) => text(r, c)));
  const widths = columns.map((c, j) => Math.max(c.length, ...lines.map((l) => (l[j] ?? "").length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((cell, j) => (numeric[j] ? cell.padStart(widths[j] ?? 0) : cell.padEnd(widths[j] ?? 0)))
      .join("  ")
      .trimEnd();
  const textLines = [fmt(columns), fmt(widths.map((w) => "-".repeat(w)))];
  lines.slice(0, head.length).forEach((l) => {
    textLines.push(fmt(l));
  });
  if (hidden > 0) textLines.push(`… ${hidden} more rows …`);
  lines.slice(head.length).forEach((l) => {
    textLines.push(fmt(l));
  });
  textLines.push(`(${rows.length} rows × ${columns.length} columns)`);
  if (options.caption) textLines.unshift(options.caption);
  return { "text/html": htmlTable, "text/plain": textLines.join("\n") };
}

export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Number.isFinite(value) ? String(Number(value.toPrecision(8))) : String(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function isNumeric(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "number" || typeof value === "bigint") return true;
  return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
