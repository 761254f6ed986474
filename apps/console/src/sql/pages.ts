/** The SQL box and the table every query result is shown in. */
import { type Html, html } from "../views/html.ts";
import type { QueryResult } from "./engine.ts";

export function resultTable(result: QueryResult, maxRows: number): Html {
  const shown = result.rows.slice(0, maxRows);
  return html`<div class="scroll"><table class="result"><thead><tr>${result.columns.map((c) => html`<th title="${c.type}">${c.name}<div class="muted">${c.type}</div></th>`)}</tr></thead><tbody>
  ${shown.map((row) => html`<tr>${row.map((v) => html`<td class="cell mono" title="${cellText(v)}">${cellText(v)}</td>`)}</tr>`)}</tbody></table></div>
  <p class="muted" id="result-meta">${result.rows.length} row(s)${result.truncated ? " (row limit reached: more rows exist)" : ""}${result.rows.length > shown.length ? `, first ${shown.length} shown (the API returns them all)` : ""} · ${result.elapsedMs} ms</p>`;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

export function queryPage(options: {
  sql: string;
  views: readonly string[];
  result?: QueryResult;
  error?: string;
  rowLimit: number;
  timeoutMs: number;
  unavailable?: string;
}): Html {
  return html`<h1>SQL</h1>
  ${options.unavailable ? html`<p class="error">${options.unavailable}</p>` : ""}
  <section class="card"><form method="post" action="/query" id="query-form">
  <textarea name="sql" spellcheck="false" placeholder="SELECT * FROM bronze.kraken_trades LIMIT 10">${options.sql}</textarea>
  <p><button type="submit" id="run-query">Run (Ctrl+Enter)</button>
  <button type="submit" class="secondary" id="download-csv" formaction="/query/download" name="format" value="csv">Download CSV</button>
  <button type="submit" class="secondary" id="download-parquet" formaction="/query/download" name="format" value="parquet">Download Parquet</button> <span class="muted">One read-only SELECT over the lake · at most ${options.rowLimit.toLocaleString("en-US")} rows · ${options.timeoutMs / 1000} s. The same query as JSON, Arrow IPC, CSV or Parquet: <code>POST /api/query {"sql": "…"}</code>.</span></p>
  </form>
  <p class="muted">Views: ${options.views.length ? options.views.map((v, i) => html`${i ? ", " : ""}<code>${v}</code>`) : "none yet"}</p></section>
  ${options.error ? html`<p class="error" id="query-error">${options.error}</p>` : ""}
  ${options.result ? html`<section class="card" id="query-result">${resultTable(options.result, 1000)}</section>` : ""}`;
}
