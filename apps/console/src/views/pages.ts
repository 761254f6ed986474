/** Server-rendered pages and the fragments the live pages re-fetch. */

import type { RequestRecord } from "@tributary/shared/scheduler/history";
import type { Overview } from "../health/overview.ts";
import type { JobView, RunView } from "../jobs/board.ts";
import type { DatasetInfo, PartitionInfo } from "../lake/catalog.ts";
import type { NotebookEntry } from "../notebooks/gallery.ts";
import type { QualityPanel } from "../quality/charts.ts";
import type { QueryResult } from "../sql/engine.ts";
import { type Html, html, raw } from "./html.ts";

export type Section = "overview" | "jobs" | "lake" | "query" | "notebooks" | "quality";

const NAV: readonly [Section, string, string][] = [
  ["overview", "/", "Overview"],
  ["jobs", "/jobs", "Jobs"],
  ["lake", "/lake", "Lake"],
  ["query", "/query", "SQL"],
  ["notebooks", "/notebooks", "Notebooks"],
  ["quality", "/quality", "Data quality"],
];

export function layout(options: {
  title: string;
  section: Section | null;
  refreshMs: number;
  body: Html;
  authed?: boolean;
  badge?: Html;
}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Tributary</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body data-refresh="${options.refreshMs}">
<header>
<a class="brand" href="/">Tributary</a>
<nav>${NAV.map(([s, href, label]) => html`<a href="${href}" class="${s === options.section ? "active" : ""}">${label}</a>`)}</nav>
<span id="health-badge" data-live="/partials/badge">${options.badge ?? ""}</span>
<span id="live-status" class="live muted"></span>
${options.authed ? html`<form class="inline" method="post" action="/logout"><button class="secondary" type="submit">Log out</button></form>` : ""}
</header>
<main>
${options.body}
</main>
</body>
</html>`.value;
}

// ---- formatting ----

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return `${new Date(ms).toISOString().replace("T", " ").slice(0, 19)} UTC`;
}

export function fmtAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const fmtInt = (n: number | string | null | undefined): string => {
  if (n === null || n === undefined) return "—";
  if (typeof n === "number" && !Number.isInteger(n)) return String(n);
  return /^-?\d+$/.test(String(n)) ? BigInt(n).toLocaleString("en-US") : String(n);
};

function statusBadge(status: string): Html {
  const cls =
    status === "succeeded" || status === "up" || status === "done" || status === "running"
      ? "ok"
      : status === "skipped" || status === "pending" || status === "claimed" || status === "stopped"
        ? "warn"
        : "bad";
  return html`<span class="badge ${cls}">${status}</span>`;
}

const micro = (us: number | null): number | null => (us === null ? null : us / 1000);

// ---- fragments ----

export function healthBadge(o: Overview): Html {
  const down = o.parts.filter((p) => !p.ok).length;
  return o.ok
    ? html`<a href="/" class="badge ok">healthy</a>`
    : html`<a href="/" class="badge bad" title="${o.parts
        .filter((p) => !p.ok)
        .map((p) => p.detail)
        .join("\n")}">${down} part(s) down</a>`;
}

export function overviewFragment(o: Overview): Html {
  const failing = o.parts.filter((p) => !p.ok);
  return html`
<section class="card" id="health">
  <h2>Health ${o.ok ? html`<span class="badge ok">all parts up</span>` : html`<span class="badge bad">${failing.length} part(s) down</span>`}</h2>
  ${failing.length ? html`<ul class="failing">${failing.map((p) => html`<li><b>${p.part}</b>: ${p.detail}</li>`)}</ul>` : html`<p class="muted">Sources, Kafka, lake and jobs are all healthy.</p>`}
  <p class="muted">Checked ${fmtTime(o.atMs)}</p>
</section>
<section class="card" id="sources">
  <h2>Sources</h2>
  ${
    o.sources.length === 0
      ? html`<p class="muted">No sources are monitored (CONSOLE_SOURCES=none).</p>`
      : html`<table><thead><tr><th>source</th><th>status</th><th>endpoint</th><th class="num">latency</th><th>metrics</th></tr></thead><tbody>
    ${o.sources.map(
      (
        s,
      ) => html`<tr data-source="${s.name}"><td>${s.label}</td><td>${statusBadge(s.up ? "up" : "down")}${s.error ? html` <span class="muted">${s.error}</span>` : ""}</td>
      <td class="mono">${s.url}</td><td class="num">${s.latencyMs === null ? "—" : `${s.latencyMs} ms`}</td>
      <td class="mono">${s.metrics.slice(0, 6).map((m) => html`<div>${m.name}${m.labels} ${m.value}</div>`)}</td></tr>`,
    )}</tbody></table>`
  }
</section>
<section class="card" id="kafka">
  <h2>Kafka ${statusBadge(o.kafka.up ? "up" : "down")} <span class="muted">${o.kafka.brokers.join(", ")} · group ${o.kafka.group}</span></h2>
  ${
    o.kafka.up
      ? o.kafka.topics.length === 0
        ? html`<p class="muted">No pipeline topics yet.</p>`
        : html`<table><thead><tr><th>topic</th><th class="num">partition</th><th class="num">earliest</th><th class="num">latest</th><th class="num">committed</th><th class="num">lag</th></tr></thead><tbody>
      ${o.kafka.topics.map((t) =>
        t.partitions.map(
          (
            p,
            i,
          ) => html`<tr data-topic="${t.topic}"><td>${i === 0 ? html`<b>${t.topic}</b> <span class="muted">lag ${fmtInt(t.lag)}</span>` : ""}</td>
          <td class="num">${p.partition}</td><td class="num">${fmtInt(p.low)}</td><td class="num">${fmtInt(p.high)}</td>
          <td class="num">${p.committed === null ? "—" : fmtInt(p.committed)}</td><td class="num lag">${fmtInt(p.lag)}</td></tr>`,
        ),
      )}</tbody></table>`
      : html`<p class="error">Kafka is down: ${o.kafka.error}</p>`
  }
</section>
<section class="card" id="lake">
  <h2>Lake <span class="muted">${o.lake.uri}</span></h2>
  ${o.lake.error ? html`<p class="error">${o.lake.error}</p>` : datasetTable(o.lake.datasets)}
</section>
<section class="card" id="jobs">
  <h2>Jobs</h2>
  ${processTable(o)}
  ${jobStatusTable(o.jobs.jobs)}
</section>`;
}

export function datasetTable(datasets: readonly DatasetInfo[]): Html {
  if (datasets.length === 0) return html`<p class="muted">No datasets yet.</p>`;
  return html`<table><thead><tr><th>layer</th><th>dataset</th><th class="num">rows</th><th class="num">files</th><th class="num">partitions</th><th class="num">size</th><th>last commit</th><th>freshness</th></tr></thead><tbody>
  ${datasets.map(
    (
      d,
    ) => html`<tr data-dataset="${d.layer}/${d.name}"><td>${d.layer}</td><td><a href="/lake/${d.layer}/${encodeURIComponent(d.name)}">${d.name}</a></td>
    <td class="num">${d.rows === null ? "—" : fmtInt(d.rows)}</td><td class="num">${fmtInt(d.files)}</td><td class="num">${fmtInt(d.partitions)}</td>
    <td class="num">${fmtBytes(d.bytes)}</td><td>${fmtTime(d.lastCommitMs)}</td>
    <td>${d.files === 0 ? html`<span class="muted">empty</span>` : d.stale ? html`<span class="badge bad">stale</span> ${fmtAge(d.freshnessS)}` : html`<span class="badge ok">fresh</span> ${fmtAge(d.freshnessS)}`}</td></tr>`,
  )}</tbody></table>`;
}

function processTable(o: Overview): Html {
  const procs = o.jobs.processes.filter((p) => p.state !== "stopped").slice(0, 10);
  if (procs.length === 0)
    return html`<p class="muted">No scheduler process is running (start one with <code>bun run lake</code> or <code>bun run jobs start</code>).</p>`;
  return html`<table><thead><tr><th>scheduler process</th><th>state</th><th>started</th><th>last heartbeat</th><th>jobs</th></tr></thead><tbody>
  ${procs.map(
    (
      p,
    ) => html`<tr data-process="${p.pid}"><td class="mono">${p.pid}@${p.host}</td><td>${statusBadge(p.state)}</td><td>${fmtTime(micro(p.startedAt))}</td>
    <td>${fmtTime(micro(p.heartbeatAt))}</td><td>${p.jobs.join(", ")}</td></tr>`,
  )}</tbody></table>
  ${o.jobs.abandoned.map((r) => html`<p class="error">Run ${r.id} of <b>${r.job}</b> was abandoned: its process died while it ran (started ${fmtTime(micro(r.startedAt))}).</p>`)}`;
}

export function jobStatusTable(jobs: readonly JobView[]): Html {
  if (jobs.length === 0) return html`<p class="muted">No jobs registered yet.</p>`;
  return html`<table><thead><tr><th>job</th><th>pattern (UTC)</th><th>last run</th><th>last success</th><th>next slot</th></tr></thead><tbody>
  ${jobs.map(
    (
      j,
    ) => html`<tr data-job="${j.spec.name}"><td><a href="/jobs?job=${encodeURIComponent(j.spec.name)}">${j.spec.name}</a>${j.owned ? "" : html` <span class="badge warn" title="no running scheduler process owns this job">not owned</span>`}</td>
    <td class="mono">${j.spec.pattern}</td>
    <td>${j.lastRun ? html`${statusBadge(j.running ? "running" : j.lastRun.effectiveStatus)} ${fmtTime(micro(j.lastRun.startedAt))}` : html`<span class="muted">never ran</span>`}</td>
    <td>${fmtTime(micro(j.lastSuccessAt))}</td><td>${j.nextSlot ? fmtTime(Date.parse(j.nextSlot)) : "—"}</td></tr>`,
  )}</tbody></table>`;
}

export function runsTable(runs: readonly RunView[]): Html {
  if (runs.length === 0) return html`<p class="muted">No runs recorded yet.</p>`;
  return html`<table id="runs"><thead><tr><th class="num">id</th><th>job</th><th>slot</th><th>trigger</th><th>status</th><th class="num">attempt</th><th>started</th><th class="num">duration</th><th class="num">rows</th><th>error</th></tr></thead><tbody>
  ${runs.map(
    (
      r,
    ) => html`<tr data-run="${r.id}" data-status="${r.effectiveStatus}"><td class="num">${r.id}</td><td>${r.job}</td><td>${fmtTime(micro(r.scheduledFor))}${r.rangeFrom !== null ? html`<div class="muted">range ${fmtTime(micro(r.rangeFrom))} → ${fmtTime(micro(r.rangeTo))}</div>` : ""}</td>
    <td>${r.trigger}</td><td>${statusBadge(r.effectiveStatus)}${r.status === "running" && r.progressDone !== null ? html` <span class="muted">${r.progressDone}${r.progressTotal !== null ? `/${r.progressTotal}` : ""} ${r.progressNote ?? ""}</span>` : ""}</td>
    <td class="num">${r.attempt}</td><td>${fmtTime(micro(r.startedAt))}</td><td class="num">${r.durationMs === null ? "…" : r.durationMs < 1000 ? `${Math.round(r.durationMs)} ms` : fmtAge(r.durationMs / 1000)}</td>
    <td class="num">${r.rows === null ? "" : fmtInt(r.rows)}</td><td class="cell" title="${r.error ?? ""}">${r.error ?? ""}</td></tr>`,
  )}</tbody></table>`;
}

export function requestsTable(requests: readonly RequestRecord[]): Html {
  if (requests.length === 0) return html``;
  return html`<h3>Requests from the console</h3><table id="requests"><thead><tr><th class="num">id</th><th>job</th><th>kind</th><th>requested</th><th>status</th><th>result</th></tr></thead><tbody>
  ${requests.map(
    (
      r,
    ) => html`<tr data-request="${r.id}"><td class="num">${r.id}</td><td>${r.job}</td><td>${r.kind}${r.kind === "backfill" ? html` <span class="muted">${fmtTime(micro(r.rangeFrom))} → ${fmtTime(micro(r.rangeTo))}</span>` : ""}</td>
    <td>${fmtTime(micro(r.requestedAt))}</td><td>${statusBadge(r.status)}</td><td>${r.message ?? ""}</td></tr>`,
  )}</tbody></table>`;
}

export function jobsFragment(runs: readonly RunView[], requests: readonly RequestRecord[]): Html {
  return html`${requestsTable(requests)}<h3>History</h3>${runsTable(runs)}`;
}

// ---- pages ----

export function overviewPage(o: Overview): Html {
  return html`<h1>Pipeline overview</h1><div id="live" data-live="/partials/overview">${overviewFragment(o)}</div>`;
}

export function jobsPage(options: {
  jobs: readonly JobView[];
  runs: readonly RunView[];
  requests: readonly RequestRecord[];
  filter?: string;
  message?: string;
  error?: string;
}): Html {
  const q = options.filter ? `?job=${encodeURIComponent(options.filter)}` : "";
  return html`<h1>Jobs${options.filter ? html` · ${options.filter} <a class="muted" href="/jobs">(all)</a>` : ""}</h1>
  ${options.message ? html`<p class="notice" id="flash">${options.message}</p>` : ""}
  ${options.error ? html`<p class="error" id="flash">${options.error}</p>` : ""}
  <section class="card"><table id="jobs-table"><thead><tr><th>job</th><th>pattern (UTC)</th><th>description</th><th>last run</th><th>next slot</th><th>actions</th></tr></thead><tbody>
  ${options.jobs.map(
    (
      j,
    ) => html`<tr data-job="${j.spec.name}"><td><a href="/jobs?job=${encodeURIComponent(j.spec.name)}">${j.spec.name}</a>${j.owned ? "" : html` <span class="badge warn" title="no running scheduler process owns this job; requests wait for one">not owned</span>`}</td>
    <td class="mono">${j.spec.pattern}</td><td>${j.spec.description}</td>
    <td>${j.lastRun ? statusBadge(j.running ? "running" : j.lastRun.effectiveStatus) : html`<span class="muted">never</span>`}</td>
    <td>${j.nextSlot ? fmtTime(Date.parse(j.nextSlot)) : "—"}</td>
    <td><form class="inline" method="post" action="/jobs/${encodeURIComponent(j.spec.name)}/run"><button type="submit" name="rerun">Re-run</button></form>
    <form class="inline" method="post" action="/jobs/${encodeURIComponent(j.spec.name)}/backfill"><input type="text" name="from" placeholder="from 2024-03-01" size="14" required><input type="text" name="to" placeholder="to 2024-03-02" size="14" required><button type="submit" name="backfill" class="secondary">Backfill</button></form></td></tr>`,
  )}</tbody></table></section>
  <section class="card" data-live="/partials/jobs${q}">${jobsFragment(options.runs, options.requests)}</section>`;
}

export function lakePage(datasets: readonly DatasetInfo[], uri: string): Html {
  return html`<h1>Lake <span class="muted">${uri}</span></h1><section class="card">${datasetTable(datasets)}</section>
  <p class="muted">Every dataset is also a SQL view: <code>bronze.kraken_trades</code> or <code>bronze_kraken_trades</code>. Open the <a href="/query">SQL box</a>.</p>`;
}

export function datasetPage(options: {
  dataset: DatasetInfo;
  partitions: readonly PartitionInfo[];
  schema: QueryResult | null;
  sample: QueryResult | null;
  error: string | null;
}): Html {
  const d = options.dataset;
  const view = `${d.layer}.${d.name}`;
  return html`<h1><a href="/lake">Lake</a> / ${d.layer} / ${d.name}</h1>
  <section class="card"><table><tbody>
    <tr><th>rows</th><td>${d.rows === null ? "—" : fmtInt(d.rows)}</td><th>files</th><td>${fmtInt(d.files)}</td><th>size</th><td>${fmtBytes(d.bytes)}</td></tr>
    <tr><th>last commit</th><td>${fmtTime(d.lastCommitMs)}</td><th>freshness</th><td>${d.stale ? html`<span class="badge bad">stale</span>` : html`<span class="badge ok">fresh</span>`} ${fmtAge(d.freshnessS)}</td><th>listed from</th><td>${d.source}</td></tr>
    <tr><th>partition keys</th><td colspan="5" class="mono">${d.partitionKeys.join(", ") || "none"}</td></tr>
  </tbody></table>
  <p><a href="/query?sql=${encodeURIComponent(`SELECT * FROM ${view} LIMIT 100`)}">Query ${view} in the SQL box</a></p></section>
  ${options.error ? html`<p class="error">${options.error}</p>` : ""}
  <section class="card" id="schema"><h2>Schema</h2>${options.schema ? resultTable(options.schema, 200) : html`<p class="muted">—</p>`}</section>
  <section class="card" id="sample"><h2>Sample rows</h2>${options.sample ? resultTable(options.sample, 50) : html`<p class="muted">—</p>`}</section>
  <section class="card" id="partitions"><h2>Partitions <span class="muted">(${options.partitions.length}, newest first${options.partitions.length > 200 ? ", first 200 shown" : ""})</span></h2>
  <table><thead><tr><th>partition</th><th class="num">files</th><th class="num">rows</th><th class="num">size</th><th>last write</th></tr></thead><tbody>
  ${options.partitions
    .slice(0, 200)
    .map(
      (p) =>
        html`<tr><td class="mono">${p.path}</td><td class="num">${p.files}</td><td class="num">${p.rows === null ? "—" : fmtInt(p.rows)}</td><td class="num">${fmtBytes(p.bytes)}</td><td>${fmtTime(p.lastModifiedMs)}</td></tr>`,
    )}</tbody></table></section>`;
}

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
  <p><button type="submit" id="run-query">Run (Ctrl+Enter)</button> <span class="muted">One read-only SELECT over the lake · at most ${options.rowLimit.toLocaleString("en-US")} rows · ${options.timeoutMs / 1000} s. The same query as JSON or Arrow IPC: <code>POST /api/query {"sql": "…"}</code>.</span></p>
  </form>
  <p class="muted">Views: ${options.views.length ? options.views.map((v, i) => html`${i ? ", " : ""}<code>${v}</code>`) : "none yet"}</p></section>
  ${options.error ? html`<p class="error" id="query-error">${options.error}</p>` : ""}
  ${options.result ? html`<section class="card" id="query-result">${resultTable(options.result, 1000)}</section>` : ""}`;
}

export function notebooksPage(entries: readonly NotebookEntry[], dir: string): Html {
  return html`<h1>Notebooks</h1>
  ${
    entries.length === 0
      ? html`<p class="muted">No rendered notebooks in <code>${dir}</code> yet. Run <code>bun run notebooks</code>.</p>`
      : html`<section class="card"><table id="notebooks"><thead><tr><th>notebook</th><th>status</th><th>last run</th><th class="num">duration</th><th>files</th></tr></thead><tbody>
    ${entries.map(
      (
        e,
      ) => html`<tr data-notebook="${e.name}"><td>${e.html ? html`<a href="/notebooks/${encodeURIComponent(e.name)}">${e.name}</a>` : e.name}</td>
      <td>${e.ok === null ? html`<span class="muted">—</span>` : statusBadge(e.ok ? "succeeded" : "failed")}${e.errors.length ? html`<div class="muted">${e.errors[0]}</div>` : ""}</td>
      <td>${e.ranAt ? fmtTime(Date.parse(e.ranAt)) : "—"}</td><td class="num">${e.durationMs === null ? "—" : `${(e.durationMs / 1000).toFixed(1)} s`}</td>
      <td>${e.html ? html`<a href="/notebooks/files/${encodeURIComponent(e.html)}">html</a>` : ""} ${e.ipynb ? html`<a href="/notebooks/files/${encodeURIComponent(e.ipynb)}">ipynb</a>` : ""}</td></tr>`,
    )}</tbody></table></section>`
  }`;
}

export function notebookPage(entry: NotebookEntry): Html {
  return html`<h1><a href="/notebooks">Notebooks</a> / ${entry.name} <span class="muted">${entry.ranAt ? `ran ${fmtTime(Date.parse(entry.ranAt))}` : ""}</span></h1>
  <iframe class="notebook" sandbox="" src="/notebooks/files/${encodeURIComponent(entry.html ?? "")}" title="${entry.name}"></iframe>`;
}

export function qualityPage(panels: readonly QualityPanel[], unavailable?: string): Html {
  return html`<h1>Data quality</h1>
  ${unavailable ? html`<p class="error">${unavailable}</p>` : ""}
  ${panels.length === 0 && !unavailable ? html`<p class="muted">No gold quality dataset yet (a gold dataset whose name contains <code>quality</code>, e.g. <code>gold/data_quality_hourly</code>).</p>` : ""}
  ${panels.map(
    (
      p,
    ) => html`<section class="card" data-quality="${p.dataset}"><h2>gold.${p.dataset} <span class="muted">${p.rows} rows over ${p.timeColumn ?? "?"}${p.seriesColumn ? ` by ${p.seriesColumn}` : ""}</span></h2>
    ${p.error ? html`<p class="error">${p.error}</p>` : ""}
    <div class="charts">${p.charts.map((c) => html`<figure data-metric="${c.metric}">${raw(c.svg)}<figcaption class="muted">latest: ${c.latest.map((l, i) => html`${i ? " · " : ""}${l.series} ${Number.isFinite(l.value) ? l.value : "—"}`)}</figcaption></figure>`)}</div></section>`,
  )}`;
}

export function loginPage(error?: string): Html {
  return html`<h1>Sign in</h1><section class="card">
  <p>This console is protected by a token (CONSOLE_TOKEN).</p>
  ${error ? html`<p class="error">${error}</p>` : ""}
  <form method="post" action="/login"><input type="password" name="token" placeholder="token" autocomplete="current-password" required> <button type="submit">Sign in</button></form></section>`;
}

export function errorPage(status: number, message: string): Html {
  return html`<h1>${status === 404 ? "Not found" : status === 400 ? "Refused" : "Error"}</h1><p class="error">${message}</p>`;
}
