/** The lake browser: datasets per layer, and one dataset's schema, sample rows and partitions. */

import type { QueryResult } from "../sql/engine.ts";
import { resultTable } from "../sql/pages.ts";
import { fmtAge, fmtBytes, fmtInt, fmtTime } from "../views/format.ts";
import { type Html, html } from "../views/html.ts";
import type { DatasetInfo, PartitionInfo } from "./catalog.ts";
import type { DatasetDoc } from "./descriptions.ts";
import type { SnapshotRow, TableHistory } from "./history.ts";

export function datasetTable(datasets: readonly DatasetInfo[]): Html {
  if (datasets.length === 0) return html`<p class="muted">No datasets yet.</p>`;
  return html`<table><thead><tr><th>layer</th><th>dataset</th><th class="num">rows</th><th class="num">files</th><th class="num">partitions</th><th class="num">size</th><th>last commit</th><th>freshness</th></tr></thead><tbody>
  ${datasets.map(
    (
      d,
    ) => html`<tr data-dataset="${d.layer}/${d.name}"><td>${d.layer}</td><td><a href="/lake/${d.layer}/${encodeURIComponent(d.name)}">${d.name}</a></td>
    <td class="num">${d.rows === null ? "—" : fmtInt(d.rows)}</td><td class="num">${fmtInt(d.files)}</td><td class="num">${fmtInt(d.partitions)}</td>
    <td class="num">${fmtBytes(d.bytes)}</td><td>${fmtTime(d.lastCommitMs)}</td>
    <td>${d.error !== null ? html`<span class="badge bad" title="${d.error}">unreadable</span> ${d.error}` : d.files === 0 ? html`<span class="muted">empty</span>` : d.stale ? html`<span class="badge bad">stale</span> ${fmtAge(d.freshnessS)}` : html`<span class="badge ok">fresh</span> ${fmtAge(d.freshnessS)}`}</td></tr>`,
  )}</tbody></table>`;
}

export function lakePage(datasets: readonly DatasetInfo[], uri: string): Html {
  return html`<h1>Lake <span class="muted">${uri}</span></h1><section class="card">${datasetTable(datasets)}</section>
  <p class="muted">Every dataset is also a SQL view: <code>bronze.kraken_trades</code> or <code>bronze_kraken_trades</code>. Open the <a href="/query">SQL box</a>.</p>`;
}

/** DESCRIBE's name and type of each column, with its meaning from the docs. */
function schemaTable(schema: QueryResult, doc: DatasetDoc | undefined): Html {
  return html`<table><thead><tr><th>column</th><th>type</th><th>meaning</th></tr></thead><tbody>${schema.rows.map(
    (r) => {
      const name = String(r[0]);
      return html`<tr data-column="${name}"><td class="mono">${name}</td><td class="mono">${String(r[1])}</td><td>${doc?.columns.get(name) ?? ""}</td></tr>`;
    },
  )}</tbody></table>`;
}

const num = (n: number | null): string => (n === null ? "—" : fmtInt(n));

/** Where a snapshot of `layer.name` is shown: the dataset page as of it. */
const asOfHref = (table: string, id: string): string => {
  const [layer, name] = table.split(".") as [string, string];
  return `/lake/${layer}/${encodeURIComponent(name)}?as_of=${id}`;
};

/** The table's snapshots, newest first; each links to the dataset as of it, and to what its run read. */
function historySection(table: string, history: TableHistory | undefined, asOf: string | undefined): Html {
  if (history === undefined)
    return html`<section class="card" id="history"><h2>History</h2><p class="muted">No Iceberg table: this dataset is read from its Hive tree only (docs/iceberg.md says which datasets and why).</p></section>`;
  const rows = history.snapshots.map(
    (s: SnapshotRow) => html`<tr data-snapshot="${s.id}"${s.id === asOf ? html` class="selected"` : ""}>
    <td>${s.committedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")}</td><td class="mono"><a href="${asOfHref(table, s.id)}">${s.id}</a>${s.current ? html` <span class="badge ok">current</span>` : ""}</td>
    <td>${s.operation}</td><td class="num">${num(s.addedRecords)}</td><td class="num">${num(s.deletedRecords)}</td><td class="num">${num(s.totalRecords)}</td><td class="num">${num(s.totalFiles)}</td>
    <td class="mono">${s.run ?? ""}</td><td class="mono">${Object.entries(s.reads).map(([t, id]) => html`<a href="${asOfHref(t, id)}">${t}@${id}</a> `)}</td></tr>`,
  );
  return html`<section class="card" id="history"><h2>History <span class="muted">(Iceberg table ${history.table}: ${fmtInt(history.total)} snapshot(s) kept${history.total > history.snapshots.length ? `, newest ${history.snapshots.length} shown` : ""})</span></h2>
  <table><thead><tr><th>committed (UTC)</th><th>snapshot</th><th>operation</th><th class="num">rows added</th><th class="num">rows removed</th><th class="num">rows</th><th class="num">files</th><th>run</th><th>read</th></tr></thead><tbody>${rows}</tbody></table>
  <p class="muted">Open a snapshot to see the dataset as it held then; <code>?as_of=</code> also takes a time (RFC 3339), like Spark's <code>TIMESTAMP AS OF</code>.</p></section>`;
}

export function datasetPage(options: {
  dataset: DatasetInfo;
  partitions: readonly PartitionInfo[];
  schema: QueryResult | null;
  sample: QueryResult | null;
  error: string | null;
  doc?: DatasetDoc | undefined;
  history?: TableHistory | undefined;
  asOf?: { readonly snapshot: SnapshotRow; readonly rows: number | null; readonly files: number } | undefined;
}): Html {
  const d = options.dataset;
  const view = `${d.layer}.${d.name}`;
  const a = options.asOf;
  const asOfBanner = a
    ? html`<section class="card" id="as-of"><p><span class="badge">as of</span> snapshot <span class="mono">${a.snapshot.id}</span>, committed ${a.snapshot.committedAt} (${a.snapshot.operation}${a.snapshot.current ? ", the current one" : ""}): <strong>${num(a.rows)}</strong> rows in ${fmtInt(a.files)} file(s). Schema and sample rows below are this snapshot's. <a href="/lake/${d.layer}/${encodeURIComponent(d.name)}">Back to now</a></p></section>`
    : "";
  return html`<h1><a href="/lake">Lake</a> / ${d.layer} / ${d.name}</h1>${asOfBanner}
  <section class="card"><table><tbody>
    <tr><th>rows</th><td>${d.rows === null ? "—" : fmtInt(d.rows)}</td><th>files</th><td>${fmtInt(d.files)}</td><th>size</th><td>${fmtBytes(d.bytes)}</td></tr>
    <tr><th>last commit</th><td>${fmtTime(d.lastCommitMs)}</td><th>freshness</th><td>${d.stale ? html`<span class="badge bad">stale</span>` : html`<span class="badge ok">fresh</span>`} ${fmtAge(d.freshnessS)}</td><th>listed from</th><td>${d.source}</td></tr>
    <tr><th>partition keys</th><td colspan="5" class="mono">${d.partitionKeys.join(", ") || "none"}</td></tr>
  </tbody></table>
  ${options.doc?.summary ? html`<p id="dataset-summary">${options.doc.summary}</p>` : ""}
  <p><a href="/query?sql=${encodeURIComponent(`SELECT * FROM ${view} LIMIT 100`)}">Query ${view} in the SQL box</a></p></section>
  ${options.error ? html`<p class="error">${options.error}</p>` : ""}
  <section class="card" id="schema"><h2>Schema <span class="muted">(descriptions from docs/datasets.md)</span></h2>${options.schema ? schemaTable(options.schema, options.doc) : html`<p class="muted">—</p>`}</section>
  <section class="card" id="sample"><h2>Sample rows</h2>${options.sample ? resultTable(options.sample, 50) : html`<p class="muted">—</p>`}</section>
  ${historySection(view, options.history, a?.snapshot.id)}
  <section class="card" id="partitions"><h2>Partitions <span class="muted">(${options.partitions.length}, newest first${options.partitions.length > 200 ? ", first 200 shown" : ""})</span></h2>
  <table><thead><tr><th>partition</th><th class="num">files</th><th class="num">rows</th><th class="num">size</th><th>last write</th></tr></thead><tbody>
  ${options.partitions
    .slice(0, 200)
    .map(
      (p) =>
        html`<tr><td class="mono">${p.path}</td><td class="num">${p.files}</td><td class="num">${p.rows === null ? "—" : fmtInt(p.rows)}</td><td class="num">${fmtBytes(p.bytes)}</td><td>${fmtTime(p.lastModifiedMs)}</td></tr>`,
    )}</tbody></table></section>`;
}
