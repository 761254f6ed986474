/**
 * The quality charts are the notebooks' line charts: each fits its grid cell, keeps its SVG ids to
 * itself (so no chart draws its points inside another), and labels values without float noise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DatasetInfo } from "../lake/catalog.ts";
import { QueryEngine } from "../sql/engine.ts";
import { parseDuckTime, type QualityPanel, qualityPanels } from "./charts.ts";

let scratch: string;
let engine: QueryEngine;
let panel: QualityPanel;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-quality-"));
  const dir = join(scratch, "gold", "data_quality_hourly");
  mkdirSync(dir, { recursive: true });
  for (const layer of ["bronze", "silver"]) mkdirSync(join(scratch, layer));
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(`COPY (
    SELECT TIMESTAMPTZ '2026-01-05 00:00:00+00' + INTERVAL (h) HOUR AS hour, s AS symbol,
      100 + h AS rows, 3.9474100000000005 + h * 0.1 AS gap_pct
    FROM range(6) r(h), (VALUES ('BTC/USD'), ('ETH/USD')) v(s)) TO '${dir}/part-0.parquet' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();
  engine = await QueryEngine.create({ lakeRoot: scratch });
  await engine.setViews([{ layer: "gold", dataset: "data_quality_hourly", glob: `${dir}/*.parquet` }]);
  const info = { layer: "gold", name: "data_quality_hourly", files: 1 } as DatasetInfo;
  const [first] = await qualityPanels(engine, [info], { rowLimit: 1000, timeoutMs: 10_000 });
  if (!first) throw new Error("no quality panel");
  panel = first;
}, 30_000);

afterAll(() => {
  engine?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("quality charts", () => {
  test("one chart per measure, one line per symbol, no wider than a grid cell", () => {
    expect(panel.error).toBeNull();
    expect(panel.charts.map((c) => c.metric)).toEqual(["rows", "gap_pct"]);
    for (const chart of panel.charts) {
      const width = Number(/<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(chart.svg)?.[1]);
      expect(width).toBeLessThanOrEqual(440);
      expect(chart.svg).toContain("BTC/USD");
      expect(chart.svg).toContain("ETH/USD");
    }
  });

  test("no two charts share an SVG id, so clip paths and references stay inside their chart", () => {
    const ids = panel.charts.flatMap((c) => [...c.svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    for (const chart of panel.charts) {
      const own = new Set([...chart.svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
      for (const ref of chart.svg.matchAll(/url\(#([^)]+)\)/g)) expect(own.has(ref[1])).toBe(true);
    }
  });

  test("labels and latest values carry no float noise", () => {
    const gap = panel.charts.find((c) => c.metric === "gap_pct");
    expect(gap?.latest).toEqual([
      { series: "BTC/USD", value: 4.44741 },
      { series: "ETH/USD", value: 4.44741 },
    ]);
    for (const chart of panel.charts) {
      const labels = [...chart.svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      expect(labels.length).toBeGreaterThan(4);
      expect(labels.filter((l) => /\d\.\d{6,}/.test(l ?? ""))).toEqual([]);
    }
  });

  test("DuckDB's DATE, TIMESTAMP and TIMESTAMPTZ text read as UTC instants", () => {
    expect(parseDuckTime("2024-05-01")).toBe(Date.parse("2024-05-01T00:00:00Z"));
    expect(parseDuckTime("2024-05-01 14:00:00")).toBe(Date.parse("2024-05-01T14:00:00Z"));
    expect(parseDuckTime("2024-05-01 14:00:00.123456+00")).toBe(Date.parse("2024-05-01T14:00:00.123Z"));
    expect(parseDuckTime("2024-05-01 16:00:00+02")).toBe(Date.parse("2024-05-01T14:00:00Z"));
    expect(Number.isNaN(parseDuckTime("yesterday"))).toBe(true);
  });
});
