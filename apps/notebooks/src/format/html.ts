/**
 * An HTML page of an executed notebook: inline CSS and SVG, no fonts or network, so it opens
 * offline in any browser. Charts are static SVG that `tributary-charts.js` (bundled vega-embed,
 * written beside the page) turns interactive from the Vega-Lite spec embedded as JSON; without that
 * file the SVG stays. Code is folded; outputs are shown in full.
 */
import { VEGA_LITE_MIME } from "../charts/chart.ts";
import { escapeHtml } from "../kit/table.ts";
import { CHARTS_RUNTIME_FILE } from "./charts-runtime.ts";
import type { CellOutput, ExecutedCell, MimeBundle, NotebookRunInfo } from "./ipynb.ts";

export function renderHtml(cells: readonly ExecutedCell[], run: NotebookRunInfo): string {
  const title = pageTitle(cells) ?? run.name;
  let svgCount = 0;
  const nextPrefix = (): string => `s${++svgCount}-`;
  const body = cells
    .map((c, i) => {
      if (c.cell.type === "markdown") {
        return `<section class="md" id="cell-${i}">${markdown(c.cell.source)}</section>`;
      }
      if (c.cell.type === "raw")
        return `<section class="raw"><pre>${escapeHtml(c.cell.source)}</pre></section>`;
      const status =
        c.status === "error" ? "error" : c.status === "not-run" ? "not run" : seconds(c.durationMs);
      const label = `[${c.executionCount ?? " "}] ${c.cell.title ? `${escapeHtml(c.cell.title)} · ` : ""}line ${c.cell.firstLine} · ${status}`;
      const outputs = c.outputs.map((o) => renderOutput(o, nextPrefix)).join("");
      return `<section class="cell ${c.status}" id="cell-${i}"><details class="source"><summary>${label}</summary><pre><code>${escapeHtml(
        c.cell.source,
      )}</code></pre></details>${outputs ? `<div class="outputs">${outputs}</div>` : ""}</section>`;
    })
    .join("\n");
  const params = Object.entries(run.params)
    .map(([k, v]) => `<code>${escapeHtml(k)}=${escapeHtml(paramText(v))}</code>`)
    .join(" ");
  const errors = cells.filter((c) => c.status === "error").length;
  const badge = run.ok
    ? '<span class="badge ok">ok</span>'
    : `<span class="badge failed">failed${errors ? ` · ${errors} error${errors > 1 ? "s" : ""}` : ""}</span>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tributary-notebooks">
<title>${escapeHtml(title)} · Tributary notebook</title>
<style>${CSS}</style>
</head>
<body>
<header>
<p class="kicker">Tributary notebook · <code>${escapeHtml(run.name)}</code> ${badge}</p>
<dl>
<dt>Run at (UTC)</dt><dd><time datetime="${escapeHtml(run.startedAt)}">${escapeHtml(run.startedAt)}</time></dd>
<dt>Duration</dt><dd>${seconds(run.durationMs)}</dd>
<dt>Parameters</dt><dd>${params || "<em>none</em>"}</dd>
</dl>
</header>
<main>
${body}
</main>
${/<figure class="chart"[^>]* data-spec="/.test(body) ? `<script src="${CHARTS_RUNTIME_FILE}" defer></script>\n` : ""}<footer>Executed with Bun · also available as <a href="${encodeURIComponent(run.name)}.ipynb">${escapeHtml(run.name)}.ipynb</a></footer>
</body>
</html>
`;
}

function renderOutput(output: CellOutput, nextPrefix: () => string): string {
  switch (output.output_type) {
    case "stream":
      return `<pre class="stream ${output.name}">${escapeHtml(stripAnsi(output.text))}</pre>`;
    case "error":
      return `<pre class="error-output"><strong>${escapeHtml(output.ename)}: ${escapeHtml(stripAnsi(output.evalue))}</strong>\n${escapeHtml(
        stripAnsi(output.traceback.slice(1).join("\n")),
      )}</pre>`;
    case "display_data":
      return `<div class="display">${renderBundle(output.data, nextPrefix)}</div>`;
  }
}

/** Picks the richest representation a static page can show. */
export function renderBundle(bundle: MimeBundle, nextPrefix: () => string = () => "s-"): string {
  const svg = bundle["image/svg+xml"];
  if (typeof svg === "string") {
    const alt = typeof bundle["text/plain"] === "string" ? bundle["text/plain"] : "chart";
    const prefix = nextPrefix();
    const spec = bundle[VEGA_LITE_MIME];
    if (spec === undefined) {
      return `<figure class="chart" role="img" aria-label="${escapeHtml(alt)}">${scopeSvgIds(svg, prefix)}</figure>`;
    }
    const id = `${prefix}spec`;
    // JSON inside <script> must never contain "</script" or "<!--": every "<" becomes \u003c.
    const json = JSON.stringify(spec).replaceAll("<", "\\u003c");
    return `<figure class="chart" role="img" aria-label="${escapeHtml(alt)}" data-spec="${id}">${scopeSvgIds(svg, prefix)}</figure><script type="application/json" id="${id}">${json}</script>`;
  }
  const html = bundle["text/html"];
  if (typeof html === "string") return `<div class="html">${html}</div>`;
  const png = bundle["image/png"];
  if (typeof png === "string") return `<img alt="" src="data:image/png;base64,${png.replace(/\s+/g, "")}">`;
  const md = bundle["text/markdown"];
  if (typeof md === "string") return `<div class="md">${markdown(md)}</div>`;
  const json = bundle["application/json"];
  if (json !== undefined) return `<pre class="json">${escapeHtml(JSON.stringify(json, null, 2))}</pre>`;
  const text = bundle["text/plain"];
  return `<pre class="text">${escapeHtml(stripAnsi(String(text ?? "")))}</pre>`;
}

/** Several inline SVGs share one document: give each its own id namespace (clip paths, gradients). */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}${id}"`);
}

function markdown(text: string): string {
  return Bun.markdown.html(text, { tagFilter: true, headings: { ids: true } });
}

function pageTitle(cells: readonly ExecutedCell[]): string | undefined {
  for (const c of cells) {
    if (c.cell.type !== "markdown") continue;
    const m = /^#\s+(.+)$/m.exec(c.cell.source);
    if (m?.[1]) return m[1].trim();
  }
  return undefined;
}

function paramText(v: unknown): string {
  if (Array.isArray(v)) return v.join(",");
  return typeof v === "string" ? v : JSON.stringify(v);
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC.
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

const CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#ffffff;--soft:#f8fafc;--accent:#2563eb;--bad:#b91c1c;--good:#047857}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header,main,footer{max-width:1040px;margin:0 auto;padding:0 24px}
header{padding-top:28px;padding-bottom:12px;border-bottom:1px solid var(--line)}
.kicker{margin:0 0 8px;color:var(--muted);font-size:13px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;font-size:13px}
dt{color:var(--muted)}dd{margin:0}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;margin-left:6px}
.badge.ok{background:#d1fae5;color:var(--good)}.badge.failed{background:#fee2e2;color:var(--bad)}
main{padding-top:8px;padding-bottom:32px}
section{margin:14px 0}
section.md h1{font-size:28px;margin:18px 0 8px}section.md h2{font-size:21px;margin:24px 0 6px;padding-top:8px;border-top:1px solid var(--line)}
section.md h3{font-size:17px;margin:16px 0 4px}
code,pre{font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
p code,li code,dd code{background:var(--soft);padding:1px 4px;border-radius:4px;border:1px solid var(--line)}
details.source{border:1px solid var(--line);border-radius:6px;background:var(--soft)}
details.source summary{cursor:pointer;padding:4px 10px;color:var(--muted);font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace}
details.source pre{margin:0;padding:10px 12px;overflow:auto;border-top:1px solid var(--line)}
.cell.error details.source{border-color:#fca5a5}
.cell.not-run{opacity:.55}
.outputs{margin-top:8px}
pre.stream,pre.text,pre.json{margin:6px 0;padding:8px 12px;background:var(--soft);border-radius:6px;overflow:auto;white-space:pre-wrap}
pre.stderr{background:#fff7ed;color:#9a3412}
pre.error-output{margin:6px 0;padding:10px 12px;background:#fef2f2;color:var(--bad);border:1px solid #fecaca;border-radius:6px;overflow:auto;white-space:pre-wrap}
figure.chart{margin:10px 0;overflow-x:auto}
figure.chart svg{max-width:100%;height:auto;display:block}
figure.chart.interactive svg{max-width:none}
.display .md p{margin:6px 0}
table.dataframe{border-collapse:collapse;font-size:13px;margin:6px 0;font-variant-numeric:tabular-nums}
table.dataframe th,table.dataframe td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.dataframe th{background:var(--soft);font-weight:600}
table.dataframe td.num{text-align:right}table.dataframe td.null{color:var(--muted);font-style:italic}
table.dataframe tr.gap td{color:var(--muted);font-style:italic}
.html{overflow-x:auto}.table-shape{color:var(--muted);font-size:12px;margin:2px 0 8px}
footer{padding-top:12px;padding-bottom:32px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
a{color:var(--accent)}
`;
