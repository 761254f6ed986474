/** Small server-side SVG charts (no client code): a multi-series line chart over UTC time. */
import { escapeHtml } from "./html.ts";

export interface SeriesPoint {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly SeriesPoint[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  readonly unit?: string;
}

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d"];

function niceNumber(v: number): string {
  if (!Number.isFinite(v)) return "";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toFixed(a < 1 ? 3 : 2)));
}

function timeLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  return spanMs > 2 * 86_400_000 ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 220;
  const pad = { left: 52, right: 12, top: 28, bottom: 40 };
  const all = options.series.flatMap((s) => s.points);
  const title = `<text x="${pad.left}" y="18" class="chart-title">${escapeHtml(options.title)}</text>`;
  if (all.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="chart-empty">no data</text></svg>`;
  }
  let xMin = Math.min(...all.map((p) => p.x));
  let xMax = Math.max(...all.map((p) => p.x));
  const yMin = Math.min(0, ...all.map((p) => p.y));
  let yMax = Math.max(...all.map((p) => p.y));
  if (xMax === xMin) {
    xMin -= 1;
    xMax += 1;
  }
  if (yMax === yMin) yMax = yMin + 1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const sx = (x: number): number => pad.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number): number => pad.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [title];
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    const py = sy(y).toFixed(1);
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${py}" y2="${py}" class="grid"/>`);
    parts.push(
      `<text x="${pad.left - 6}" y="${py}" dy="4" text-anchor="end" class="tick">${escapeHtml(niceNumber(y))}</text>`,
    );
  }
  for (let i = 0; i <= 3; i++) {
    const x = xMin + ((xMax - xMin) * i) / 3;
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${height - pad.bottom + 16}" text-anchor="${i === 0 ? "start" : i === 3 ? "end" : "middle"}" class="tick">${escapeHtml(timeLabel(x, xMax - xMin))}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const d = pts.map((p, j) => `${j === 0 ? "M" : "L"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8" class="series"><title>${escapeHtml(s.name)}</title></path>`,
    );
    if (pts.length <= 60) {
      for (const p of pts) {
        parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.2" fill="${color}"/>`);
      }
    }
    const lx = pad.left + i * 110;
    parts.push(`<rect x="${lx}" y="${height - 14}" width="10" height="10" fill="${color}"/>`);
    parts.push(
      `<text x="${lx + 14}" y="${height - 5}" class="legend">${escapeHtml(s.name.slice(0, 14))}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}" class="chart">${parts.join("")}</svg>`;
}
