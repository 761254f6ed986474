/**
 * The quality charts are the notebooks' line charts: each fits its grid cell, keeps its SVG ids to
 * itself (so no chart draws its points inside another), and labels values without float noise. The
 * lake is the real gold: the lake fixture runs the real silver and gold jobs on generated bronze.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOLD } from "@tributary/lake/gold/datasets";
import { buildLakeFixture } from "@tributary/lake/testing/lake-fixture";
import type { DatasetInfo } from "../lake/catalog.ts";
import { QueryEngine } from "../sql/engine.ts";
import { parseDuckTime, type QualityPanel, qualityPanels } from "./charts.ts";

const LIMITS = { rowLimit: 1000, timeoutMs: 10_000 };
let scratch: string;
let engine: QueryEngine;
let panel: QualityPanel;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-quality-"));
  await buildLakeFixture(scratch, { hours: 6, tesouro: false });
  engine = await QueryEngine.create({ lakeRoot: scratch });
  const glob = join(scratch, "gold", GOLD.quality, "**", "*.parquet");
  await engine.setViews([{ layer: "gold", dataset: GOLD.quality, glob }]);
  const info = { layer: "gold", name: GOLD.quality, files: 1 } as DatasetInfo;
  const [first] = await qualityPanels(engine, [info], LIMITS);
  if (!first) throw new Error("no quality panel");
  panel = first;
}, 60_000);

afterAll(() => {
  engine?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("quality charts", () => {
  test("one chart per numeric measure, one line per symbol, no wider than a grid cell", async () => {
    expect(panel.error).toBeNull();
    const described = await engine.internal(`DESCRIBE gold.${GOLD.quality}`, LIMITS);
    const numeric = described.rows
      .filter(
        (r) => /INT|DOUBLE|DECIMAL|FLOAT|REAL/.test(String(r[1])) && !["day", "hour"].includes(String(r[0])),
      )
      .map((r) => String(r[0]));
    expect(panel.charts.map((c) => c.metric)).toEqual(numeric);
    expect(numeric).toContain("rows");
    expect(numeric).toContain("freshness_s");
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

  test("latest values are the last hour's, rounded to what a chart shows, and labels carry no float noise", async () => {
    const last = await engine.internal(
      `SELECT symbol, rows, freshness_s FROM gold.${GOLD.quality} QUALIFY hour = max(hour) OVER (PARTITION BY symbol) ORDER BY symbol`,
      LIMITS,
    );
    const latestOf = (metric: string) => panel.charts.find((c) => c.metric === metric)?.latest;
    expect(latestOf("rows")).toEqual(last.rows.map((r) => ({ series: String(r[0]), value: Number(r[1]) })));
    expect(latestOf("freshness_s")).toEqual(
      last.rows.map((r) => ({ series: String(r[0]), value: Number(Number(r[2]).toPrecision(7)) })),
    );
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
