/** The notebook gallery and one rendered notebook in a sandboxed frame. */
import { fmtTime, statusBadge } from "../views/format.ts";
import { type Html, html } from "../views/html.ts";
import type { NotebookEntry } from "./gallery.ts";

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
  <iframe class="notebook" sandbox="allow-scripts" src="/notebooks/files/${encodeURIComponent(entry.html ?? "")}" title="${entry.name}"></iframe>`;
}
