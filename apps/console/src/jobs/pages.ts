/** The jobs page: registered jobs with their buttons, queued requests and the run history. */
import {
  type RequestRecord,
  RUN_STATUSES,
  RUN_TRIGGERS,
  type RunLogLine,
} from "@tributary/shared/scheduler/history";
import { fmtAge, fmtInt, fmtTime, micro, statusBadge } from "../views/format.ts";
import { type Html, html, raw } from "../views/html.ts";
import type { JobView, RunPage, RunView } from "./board.ts";
import { jobsGraph } from "./graph.ts";

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
    ) => html`<tr data-run="${r.id}" data-status="${r.effectiveStatus}"><td class="num"><a href="/jobs/runs/${r.id}" title="logs of run ${r.id}">${r.id}</a></td><td>${r.job}</td><td>${fmtTime(micro(r.scheduledFor))}${r.rangeFrom !== null ? html`<div class="muted">range ${fmtTime(micro(r.rangeFrom))} → ${fmtTime(micro(r.rangeTo))}</div>` : ""}</td>
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

/** The history's filter, as the jobs page's query string carries it. */
export interface HistoryQuery {
  readonly job?: string;
  readonly status?: string;
  readonly trigger?: string;
  readonly before?: number;
}

export function queryString(q: HistoryQuery, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra }))
    if (v !== undefined && v !== "") params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function jobsFragment(page: RunPage, requests: readonly RequestRecord[], q: HistoryQuery = {}): Html {
  const shown = page.runs.length;
  return html`${requestsTable(requests)}<h3>History <span class="muted" id="history-count">${shown} of ${page.total} run(s)${q.before ? ` before #${q.before}` : ""}</span></h3>${runsTable(page.runs)}
  <p class="pager">${q.before ? html`<a href="/jobs${queryString({ ...q, before: undefined })}">newest</a> · ` : ""}${page.nextBefore ? html`<a id="older" href="/jobs${queryString({ ...q, before: page.nextBefore })}">older runs →</a>` : html`<span class="muted">no older runs</span>`}</p>`;
}

const NOT_OK = "failed,timed_out,abandoned";
const STATUSES = ["", NOT_OK, ...RUN_STATUSES];
const TRIGGERS = ["", ...RUN_TRIGGERS];

function historyFilter(jobs: readonly JobView[], q: HistoryQuery): Html {
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ""}>${label}</option>`;
  return html`<form class="inline" method="get" action="/jobs" id="history-filter">
  <select name="job">${option("", "every job", !q.job)}${jobs.map((j) => option(j.spec.name, j.spec.name, q.job === j.spec.name))}</select>
  <select name="status">${STATUSES.map((st) => option(st, st === "" ? "any status" : st === NOT_OK ? "not ok" : st, (q.status ?? "") === st))}</select>
  <select name="trigger">${TRIGGERS.map((t) => option(t, t === "" ? "any trigger" : t, (q.trigger ?? "") === t))}</select>
  <button type="submit" class="secondary">Filter</button></form>`;
}

export function jobsPage(options: {
  jobs: readonly JobView[];
  page: RunPage;
  requests: readonly RequestRecord[];
  query: HistoryQuery;
  message?: string;
  error?: string;
}): Html {
  const job = options.query.job;
  return html`<h1>Jobs${job ? html` · ${job} <a class="muted" href="/jobs">(all)</a>` : ""}</h1>
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
  <section class="card" id="graph"><h2>Dependencies</h2><p class="muted">A job runs after the jobs its arrows come from, in the same tick; the border is its last status.</p><div class="scroll">${raw(jobsGraph(options.jobs))}</div></section>
  <section class="card">${historyFilter(options.jobs, options.query)}
  <div data-live="/partials/jobs${queryString(options.query)}">${jobsFragment(options.page, options.requests, options.query)}</div></section>`;
}

/** One run: what it was, its full error, and every line it logged. */
export function runPage(run: RunView, logs: readonly RunLogLine[]): Html {
  return html`<h1><a href="/jobs">Jobs</a> / <a href="/jobs?job=${encodeURIComponent(run.job)}">${run.job}</a> / run ${run.id}</h1>
  <section class="card"><table id="run"><tbody>
  <tr><th>status</th><td>${statusBadge(run.effectiveStatus)}</td><th>trigger</th><td>${run.trigger}</td><th>attempt</th><td>${run.attempt}</td></tr>
  <tr><th>slot</th><td>${fmtTime(micro(run.scheduledFor))}</td><th>started</th><td>${fmtTime(micro(run.startedAt))}</td><th>duration</th><td>${run.durationMs === null ? "…" : fmtAge(run.durationMs / 1000)}</td></tr>
  ${run.rangeFrom !== null ? html`<tr><th>range</th><td colspan="5">${fmtTime(micro(run.rangeFrom))} → ${fmtTime(micro(run.rangeTo))}</td></tr>` : ""}
  <tr><th>rows</th><td>${run.rows === null ? "—" : fmtInt(run.rows)}</td><th>process</th><td colspan="3" class="mono">${run.owner}</td></tr>
  </tbody></table>
  ${run.error ? html`<h3>Error</h3><pre class="error" id="run-error">${run.error}</pre>` : ""}</section>
  <section class="card"><h2>Log <span class="muted">${logs.length} line(s)</span></h2>
  ${
    logs.length === 0
      ? html`<p class="muted">This run logged nothing.</p>`
      : html`<pre class="log" id="run-log">${logs.map(
          (
            l,
          ) => html`<span class="level-${l.level}">${new Date(l.at / 1000).toISOString()} ${l.level.padEnd(5)} ${l.message}</span>
`,
        )}</pre>`
  }</section>`;
}
