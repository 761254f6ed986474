/**
 * Browser entry of `tributary-charts.js`, the offline chart runtime next to the HTML reports:
 * vega-embed renders each chart's Vega-Lite spec in place of its static SVG (tooltips, zoom,
 * legend toggling). A chart whose spec fails to render keeps its SVG.
 * Plain JavaScript: it runs in the browser, outside the project's (DOM-less) TypeScript program.
 */
import embed from "vega-embed";

/** @param {HTMLElement} figure */
async function upgrade(figure) {
  const id = figure.dataset.spec;
  const source = id ? document.getElementById(id) : null;
  if (!source?.textContent) return;
  const host = document.createElement("div");
  host.className = "live";
  try {
    await embed(host, JSON.parse(source.textContent), {
      renderer: "svg",
      actions: false,
      tooltip: { theme: "light" },
    });
    figure.replaceChildren(host);
    figure.classList.add("interactive");
  } catch (err) {
    figure.dataset.error = String(err);
  }
}

function start() {
  for (const f of document.querySelectorAll("figure.chart[data-spec]")) void upgrade(f);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
