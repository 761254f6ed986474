/** Data quality: one line chart per measure of every gold quality dataset. */
import { type Html, html, raw } from "../views/html.ts";
import type { QualityPanel } from "./charts.ts";

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
