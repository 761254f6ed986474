/**
 * The data-quality page: gold datasets whose name contains `quality` (e.g. data_quality_hourly),
 * one line chart per numeric measure over the dataset's time column, one line per series (the
 * first text column, e.g. symbol). Nothing is assumed about the columns beyond their types.
 */
import type { DatasetInfo } from "../lake/catalog.ts";
import type { QueryEngine, QueryLimits } from "../sql/engine.ts";
import { lineChart, type Series } from "../views/svg.ts";

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
const PARTITION_KEYS = new Set(["year", "month", "day", "hour", "minute"]);
const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export function isQualityDataset(d: DatasetInfo): boolean {
  return d.layer === "gold" && /quality/i.test(d.name) && d.files > 0;
}

export async function qualityPanels(
  engine: QueryEngine,
  datasets: readonly DatasetInfo[],
  limits: QueryLimits,
): Promise<QualityPanel[]> {
  const panels: QualityPanel[] = [];
  for (const d of datasets.filter(isQualityDataset)) {
    try {
      panels.push(await panel(engine, d.name, limits));
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
  const charts: QualityChart[] = measures.map((m, mi) => {
    const bySeries = new Map<string, { x: number; y: number }[]>();
    for (const row of data.rows) {
      const x = parseDuckTime(String(row[0]));
      const y = Number(row[offset + mi]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const key = series ? String(row[1]) : m.name;
      const points = bySeries.get(key) ?? [];
      if (points.length < 500) points.push({ x, y });
      bySeries.set(key, points);
    }
    const seriesList: Series[] = [...bySeries.entries()].map(([n, points]) => ({ name: n, points }));
    return {
      metric: m.name,
      svg: lineChart({ title: m.name, series: seriesList }),
      latest: seriesList.map((s) => ({
        series: s.name,
        value: s.points.reduce((best, p) => (p.x > best.x ? p : best), s.points[0] ?? { x: 0, y: Number.NaN })
          .y,
      })),
    };
  });
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
