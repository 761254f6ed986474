/**
 * The data-quality page: gold datasets whose name contains `quality` (e.g. data_quality_hourly),
 * one line chart per numeric measure over the dataset's time column, one line per series (the
 * first text column, e.g. symbol). Nothing is assumed about the columns beyond their types. The
 * charts are the notebooks' own line charts (Vega-Lite rendered to SVG on the server).
 */

import { chartNumber, type LinePoint, lineChart } from "@tributary/notebooks/charts";
import { scopeSvgIds } from "@tributary/notebooks/format/html";
import type { DatasetInfo } from "../lake/catalog.ts";
import type { QueryEngine, QueryLimits } from "../sql/engine.ts";

export interface QualityChart {
  readonly metric: string;
  readonly svg: string;
  readonly latest: readonly { readonly series: string; readonly value: number }[];
}

export interface QualityPanel {
  readonly dataset: string;
  readonly timeColumn: string | null;
  readonly seriesColumn: string | null;
  readonly rows: number;
  readonly charts: readonly QualityChart[];
  readonly error: string | null;
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/;
const TIME = /^(TIMESTAMP|DATE)/;
/** A chart's size, to fit one cell of the page's grid (CSS scales it down, never up). */
const CHART_WIDTH = 340;
const CHART_HEIGHT = 170;
const PARTITION_KEYS = new Set(["year", "month", "day", "hour", "minute"]);
const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export function isQualityDataset(d: DatasetInfo): boolean {
  return d.layer === "gold" && /quality/i.test(d.name) && d.files > 0;
}

/** Rendered panels by dataset, kept while the dataset's files and last commit are unchanged. */
export class PanelCache {
  private readonly panels = new Map<string, { stamp: string; panel: QualityPanel }>();

  get(d: DatasetInfo): QualityPanel | undefined {
    const hit = this.panels.get(d.name);
    return hit?.stamp === PanelCache.stamp(d) ? hit.panel : undefined;
  }

  set(d: DatasetInfo, panel: QualityPanel): void {
    if (panel.error === null) this.panels.set(d.name, { stamp: PanelCache.stamp(d), panel });
  }

  private static stamp(d: DatasetInfo): string {
    return `${d.files}/${d.bytes}/${d.lastCommitMs}`;
  }
}

export async function qualityPanels(
  engine: QueryEngine,
  datasets: readonly DatasetInfo[],
  limits: QueryLimits,
  cache?: PanelCache,
): Promise<QualityPanel[]> {
  const panels: QualityPanel[] = [];
  for (const d of datasets.filter(isQualityDataset)) {
    const cached = cache?.get(d);
    if (cached) {
      panels.push(cached);
      continue;
    }
    try {
      const fresh = await panel(engine, d.name, limits);
      cache?.set(d, fresh);
      panels.push(fresh);
    } catch (err) {
      panels.push({
        dataset: d.name,
        timeColumn: null,
        seriesColumn: null,
        rows: 0,
        charts: [],
        error: (err as Error).message,
      });
    }
  }
  return panels;
}

async function panel(engine: QueryEngine, name: string, limits: QueryLimits): Promise<QualityPanel> {
  const view = `gold.${quoteIdent(name)}`;
  const described = await engine.internal(`DESCRIBE ${view}`, { rowLimit: 500, timeoutMs: limits.timeoutMs });
  const columns = described.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  const time = columns.find((c) => TIME.test(c.type));
  const series = columns.find((c) => c.type === "VARCHAR" && !PARTITION_KEYS.has(c.name));
  const measures = columns.filter((c) => NUMERIC.test(c.type) && !PARTITION_KEYS.has(c.name));
  if (!time || measures.length === 0) {
    return {
      dataset: name,
      timeColumn: time?.name ?? null,
      seriesColumn: null,
      rows: 0,
      charts: [],
      error: "no time column or no numeric measure to chart",
    };
  }
  const select = [time, ...(series ? [series] : []), ...measures]
    .map((c) => `${quoteIdent(c.name)}`)
    .join(", ");
  const data = await engine.internal(
    `SELECT ${select} FROM ${view} ORDER BY ${quoteIdent(time.name)} DESC LIMIT 5000`,
    { rowLimit: 5000, timeoutMs: limits.timeoutMs },
  );
  const offset = series ? 2 : 1;
  const charts: QualityChart[] = [];
  for (const [mi, m] of measures.entries()) {
    const points: LinePoint[] = [];
    const latest = new Map<string, { x: number; y: number }>();
    const perSeries = new Map<string, number>();
    for (const row of data.rows) {
      const x = parseDuckTime(String(row[0]));
      const y = Number(row[offset + mi]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const key = series ? String(row[1]) : m.name;
      const n = perSeries.get(key) ?? 0;
      if (n >= 500) continue;
      perSeries.set(key, n + 1);
      points.push({ x, y, series: key });
      const last = latest.get(key);
      if (!last || x > last.x) latest.set(key, { x, y });
    }
    const chart = await lineChart(points, {
      title: m.name,
      yTitle: m.name,
      ...(series ? { seriesTitle: series.name } : {}),
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
    });
    charts.push({
      metric: m.name,
      // Each chart's SVG ids (clip paths) are its own, so no chart draws inside another.
      svg: scopeSvgIds(chart.svg, `${name}-${m.name}-`.replaceAll(/[^A-Za-z0-9_-]/g, "_")),
      latest: [...latest.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([s, p]) => ({ series: s, value: chartNumber(p.y) })),
    });
  }
  return {
    dataset: name,
    timeColumn: time.name,
    seriesColumn: series?.name ?? null,
    rows: data.rows.length,
    charts,
    error: null,
  };
}

/** DuckDB's text for DATE, TIMESTAMP and TIMESTAMPTZ (session zone UTC) as epoch ms. */
export function parseDuckTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
    text.trim(),
  );
  if (!m) return Number.NaN;
  const [, date, time = "00:00:00", frac = "", zone = "Z"] = m;
  const ms = frac ? frac.slice(0, 4).padEnd(4, "0") : "";
  const offset =
    zone === "Z"
      ? "Z"
      : zone.length === 3
        ? `${zone}:00`
        : zone.includes(":")
          ? zone
          : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return Date.parse(`${date}T${time}${ms}${offset}`);
}
