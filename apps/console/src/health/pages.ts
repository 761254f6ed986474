/** The overview: health verdict, sources, Kafka, lake datasets and scheduler processes, live-refreshed. */
import { jobStatusTable } from "../jobs/pages.ts";
import { datasetTable } from "../lake/pages.ts";
import { fmtAge, fmtInt, fmtTime, micro, statusBadge } from "../views/format.ts";
import { type Html, html } from "../views/html.ts";
import type { Overview } from "./overview.ts";
import type { SourceStatus } from "./sources.ts";

/** Each symbol's feeds and the age of their newest message: `BTC/USD trades 1 s · book 0 s`. */
export function freshnessCell(s: SourceStatus): Html {
  if (s.freshness.length === 0) return html`<span class="muted">—</span>`;
  const symbols = [...new Set(s.freshness.map((f) => f.symbol))];
  return html`${symbols.map(
    (symbol) =>
      html`<div data-freshness="${symbol}">${symbol} ${s.freshness
        .filter((f) => f.symbol === symbol)
        .map(
          (f, i) => html`${i > 0 ? " · " : ""}<span data-feed="${f.feed}">${f.feed} ${fmtAge(f.ageS)}</span>`,
        )}</div>`,
  )}`;
}

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
      : html`<table><thead><tr><th>source</th><th>status</th><th>endpoint</th><th class="num">latency</th><th>freshness</th><th>metrics</th></tr></thead><tbody>
    ${o.sources.map(
      (
        s,
      ) => html`<tr data-source="${s.name}"><td>${s.label}</td><td>${statusBadge(s.up ? "up" : "down")}${s.error ? html` <span class="muted">${s.error}</span>` : ""}</td>
      <td class="mono">${s.url}</td><td class="num">${s.latencyMs === null ? "—" : `${s.latencyMs} ms`}</td>
      <td>${freshnessCell(s)}</td>
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

export function overviewPage(o: Overview): Html {
  return html`<h1>Pipeline overview</h1><div id="live" data-live="/partials/overview">${overviewFragment(o)}</div>`;
}
