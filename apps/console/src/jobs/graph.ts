/**
 * The jobs' dependency graph as server-drawn SVG: a job is placed one column right of the jobs it runs
 * `after`, an arrow goes from each dependency to its dependent, and each box shows the last status.
 */
import { escapeHtml } from "../views/html.ts";
import type { JobView } from "./board.ts";

const BOX_W = 170;
const BOX_H = 34;
const GAP_X = 60;
const GAP_Y = 14;

const COLORS: Record<string, string> = {
  succeeded: "#2e7d32",
  running: "#1565c0",
  skipped: "#9e7700",
  failed: "#c62828",
  timed_out: "#c62828",
  abandoned: "#c62828",
};

/** Column of each job: 0 without dependencies, else one more than its deepest dependency. */
export function depths(
  jobs: readonly { spec: { name: string; after: readonly string[] } }[],
): Map<string, number> {
  const byName = new Map(jobs.map((j) => [j.spec.name, j]));
  const depth = new Map<string, number>();
  const visit = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0; // a cycle cannot be registered; stay finite anyway
    seen.add(name);
    const deps = byName.get(name)?.spec.after.filter((d) => byName.has(d)) ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => visit(x, seen)));
    depth.set(name, d);
    return d;
  };
  for (const j of jobs) visit(j.spec.name, new Set());
  return depth;
}

export function jobsGraph(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return "";
  const depth = depths(jobs);
  const columns = new Map<number, JobView[]>();
  for (const j of [...jobs].sort((a, b) => a.spec.name.localeCompare(b.spec.name))) {
    const d = depth.get(j.spec.name) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), j]);
  }
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, col] of columns) {
    col.forEach((j, i) => {
      pos.set(j.spec.name, { x: 10 + d * (BOX_W + GAP_X), y: 10 + i * (BOX_H + GAP_Y) });
    });
  }
  const width = 20 + (Math.max(...columns.keys()) + 1) * (BOX_W + GAP_X) - GAP_X;
  const height = 20 + Math.max(...[...columns.values()].map((c) => c.length)) * (BOX_H + GAP_Y) - GAP_Y;
  const arrows: string[] = [];
  const boxes: string[] = [];
  for (const j of jobs) {
    const to = pos.get(j.spec.name);
    if (!to) continue;
    for (const dep of j.spec.after) {
      const from = pos.get(dep);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      arrows.push(
        `<path class="edge" data-from="${escapeHtml(dep)}" data-to="${escapeHtml(j.spec.name)}" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 6},${y2}" fill="none" stroke="#888" marker-end="url(#arrow)"/>`,
      );
    }
    const status = j.running ? "running" : (j.lastRun?.effectiveStatus ?? "never");
    const color = COLORS[status] ?? "#777";
    const label = j.spec.name.length > 22 ? `${j.spec.name.slice(0, 21)}…` : j.spec.name;
    boxes.push(
      `<g class="node" data-job="${escapeHtml(j.spec.name)}" data-status="${escapeHtml(status)}"><title>${escapeHtml(`${j.spec.name}: ${status}; ${j.spec.pattern}`)}</title>` +
        `<rect x="${to.x}" y="${to.y}" width="${BOX_W}" height="${BOX_H}" rx="5" fill="#fff" stroke="${color}" stroke-width="2"/>` +
        `<text x="${to.x + 8}" y="${to.y + 21}" font-size="12" font-family="monospace">${escapeHtml(label)}</text></g>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" aria-label="job dependency graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>${arrows.join("")}${boxes.join("")}</svg>`;
}
