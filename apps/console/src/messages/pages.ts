/** The message browser (one partition from an offset or a time, decoded) and the silver quarantine. */
import type { QueryResult } from "../sql/engine.ts";
import { resultTable } from "../sql/pages.ts";
import { fmtBytes, fmtInt } from "../views/format.ts";
import { type Html, html } from "../views/html.ts";
import type { DecodedMessage, DecodedValue } from "./decode.ts";
import type { PartitionRange } from "./reader.ts";

export interface BrowseQuery {
  readonly topic?: string;
  readonly partition: number;
  readonly offset?: string;
  readonly time?: string;
  readonly limit: number;
}

const pretty = (v: unknown): string => JSON.stringify(v, null, 2) ?? "null";

function valueView(v: DecodedValue): Html {
  switch (v.kind) {
    case "empty":
      return html`<p class="muted">empty value (a tombstone)</p>`;
    case "debezium":
      return html`<p class="envelope"><span class="badge ok">${v.op}</span> <code>${v.table}</code>${v.lsn ? html` · LSN <code>${v.lsn}</code>` : ""}${v.txId ? html` · tx <code>${v.txId}</code>` : ""}${v.committedAt ? html` · committed ${v.committedAt}` : ""}</p>
      <div class="before-after"><div><h4>before</h4><pre class="json">${pretty(v.before)}</pre></div><div><h4>after</h4><pre class="json">${pretty(v.after)}</pre></div></div>`;
    case "json":
      return html`<pre class="json">${pretty(v.json)}</pre>`;
    case "text":
      return html`<pre>${v.text}</pre>`;
    case "bytes":
      return html`<p class="muted">not UTF-8: the first bytes in hex</p><pre>${v.hex}</pre>`;
  }
}

function messageView(m: DecodedMessage): Html {
  const headers = Object.entries(m.headers).filter(([k]) => !k.startsWith("tributary.dlq."));
  return html`<article class="card message" data-offset="${m.offset}" data-kind="${m.value.kind}">
  <p><strong>offset ${m.offset}</strong> · partition ${m.partition} · ${m.timestamp} · ${fmtBytes(m.valueBytes)}${m.truncated ? " (cut for display)" : ""}${m.key !== null ? html` · key <code>${m.key}</code>` : ""}</p>
  ${m.deadLetter ? html`<p class="error dlq-reason"><strong>Dead letter:</strong> ${m.deadLetter.reason}${m.deadLetter.originalTopic ? html` <span class="muted">(from ${m.deadLetter.originalTopic}${m.deadLetter.source ? `, ${m.deadLetter.source}` : ""}${m.deadLetter.at ? `, ${m.deadLetter.at}` : ""})</span>` : ""}</p>` : ""}
  ${valueView(m.value)}
  ${headers.length ? html`<details><summary>${headers.length} header(s)</summary><table>${headers.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${v}</td></tr>`)}</table></details>` : ""}
  </article>`;
}

export function messagesPage(options: {
  topics: readonly string[];
  query: BrowseQuery;
  partitions?: readonly PartitionRange[];
  start?: string;
  messages?: readonly DecodedMessage[];
  error?: string;
}): Html {
  const q = options.query;
  const next = options.messages?.at(-1);
  const nextHref = next
    ? `/messages?${new URLSearchParams({ topic: q.topic ?? "", partition: String(q.partition), offset: (BigInt(next.offset) + 1n).toString(), limit: String(q.limit) })}`
    : undefined;
  return html`<h1>Messages <a class="muted" href="/messages/quarantine">· silver quarantine</a></h1>
  <section class="card"><form method="get" action="/messages" id="browse" class="inline">
  <select name="topic" required>${options.topics.map((t) => html`<option value="${t}"${t === q.topic ? html` selected` : ""}>${t}</option>`)}</select>
  <label>partition <input type="text" name="partition" value="${q.partition}" size="3"></label>
  <label>offset <input type="text" name="offset" value="${q.offset ?? ""}" size="10" placeholder="last"></label>
  <label>or time <input type="text" name="time" value="${q.time ?? ""}" size="22" placeholder="2026-01-05T14:00:00Z"></label>
  <label>limit <input type="text" name="limit" value="${q.limit}" size="3"></label>
  <button type="submit" id="browse-go">Read</button></form>
  <p class="muted">Without an offset or a time, the partition's last messages. A time reads from the first message at or after it (UTC). Reading joins no pipeline group.</p></section>
  ${options.error ? html`<p class="error" id="browse-error">${options.error}</p>` : ""}
  ${
    options.partitions
      ? html`<p class="muted" id="browse-range">${q.topic}: ${options.partitions.map((p) => html`<span${p.partition === q.partition ? html` class="mono"` : ""}>p${p.partition} ${p.low}–${p.high}</span> `)} · from offset ${options.start}</p>`
      : ""
  }
  ${options.messages ? (options.messages.length === 0 ? html`<p class="muted" id="no-messages">No message there.</p>` : html`<div id="messages">${options.messages.map(messageView)}</div>${nextHref ? html`<p><a id="next-messages" href="${nextHref}">next messages →</a></p>` : ""}`) : ""}`;
}

export interface QuarantineView {
  readonly dataset: string;
  readonly rows: number;
  readonly reasons: QueryResult | null;
  readonly latest: QueryResult | null;
  readonly error: string | null;
}

export function quarantinePage(datasets: readonly string[], view: QuarantineView | undefined): Html {
  return html`<h1><a href="/messages">Messages</a> / silver quarantine</h1>
  <section class="card"><p>Every bronze row silver could not accept is kept verbatim in a <code>*_quarantine</code> dataset with its reason and Kafka coordinates.</p>
  ${datasets.length === 0 ? html`<p class="muted">No quarantine dataset in the lake.</p>` : html`<p>${datasets.map((d) => html`<a href="/messages/quarantine?dataset=${encodeURIComponent(d)}"${d === view?.dataset ? html` class="mono"` : ""}>${d}</a> `)}</p>`}</section>
  ${
    view
      ? html`<section class="card" id="quarantine" data-dataset="${view.dataset}"><h2>${view.dataset} <span class="muted">${fmtInt(view.rows)} row(s)</span></h2>
  ${view.error ? html`<p class="error">${view.error}</p>` : ""}
  ${view.reasons ? html`<h3>Reasons</h3><div id="quarantine-reasons">${resultTable(view.reasons, 50)}</div>` : ""}
  ${view.latest ? html`<h3>Latest rows</h3><div id="quarantine-rows">${resultTable(view.latest, 100)}</div>` : ""}</section>`
      : ""
  }`;
}
