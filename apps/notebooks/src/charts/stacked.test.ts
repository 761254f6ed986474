/**
 * Charts stacked one under another on a shared time window line up: with the kit's stacked y axis
 * width, every plot area (each cell of a candlestick too) starts and ends at the same pixel, however
 * wide each chart's y labels are, so a reader can look down one vertical line.
 */
import { describe, expect, test } from "bun:test";
import { STACKED_Y_AXIS_WIDTH } from "./axes.ts";
import { barChart } from "./bar.ts";
import { candlestick } from "./candlestick.ts";
import { type Chart, plotAreas } from "./chart.ts";
import { lineChart } from "./line.ts";

const T0 = Date.parse("2024-03-04T00:00:00Z");
const MINUTE = 60_000;
const timeDomain = [T0, T0 + 30 * MINUTE] as const;
const at = (i: number) => T0 + i * MINUTE;

const svgWidth = (chart: Chart): number => Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(chart.svg)?.[1]);

/** Charts over one window (one with two series and a legend) whose y labels run from "0.0001" to "200000000" and "−1500". */
async function stack(yAxisWidth: number | undefined): Promise<Chart[]> {
  const stacked = { timeDomain, intervalMs: MINUTE, ...(yAxisWidth === undefined ? {} : { yAxisWidth }) };
  return [
    await candlestick(
      Array.from({ length: 30 }, (_, i) => ({
        start: at(i),
        open: 64_000 + i,
        high: 64_010 + i,
        low: 63_990 + i,
        close: 64_005 + i,
        volume: 2_000_000 + i * 1000,
      })),
      { title: "candles", ...stacked },
    ),
    await lineChart(
      Array.from({ length: 60 }, (_, i) => ({ x: at(i >> 1), y: 0.0001 * (i % 3), series: `s${i % 2}` })),
      { title: "tiny", yTitle: "bps", ...stacked },
    ),
    await lineChart(
      Array.from({ length: 30 }, (_, i) => ({ x: at(i), y: 200_000_000 + i * 3_000_000 })),
      { title: "huge", yTitle: "notional", ...stacked },
    ),
    await barChart(
      Array.from({ length: 30 }, (_, i) => ({ x: at(i), y: (i % 2 ? -1 : 1) * 1500, series: "±" })),
      { title: "signed", yTitle: "qty", ...stacked },
    ),
  ];
}

describe("charts stacked on one time axis", () => {
  test("with the stacked y axis width, every plot area starts and ends at the same pixel", async () => {
    const charts = await stack(STACKED_Y_AXIS_WIDTH);
    const areas = charts.flatMap((c) => plotAreas(c.svg));
    expect(areas.length).toBe(5); // the candlestick's price and volume cells, and three charts
    expect(new Set(areas.map((a) => a.x)).size).toBe(1);
    expect(new Set(areas.map((a) => a.width)).size).toBe(1);
    // The whole pictures are as wide too, so a page that scales SVGs to fit scales them alike.
    expect(new Set(charts.map(svgWidth)).size).toBe(1);
  });

  test("without it the left margin follows each chart's labels (what the option is for)", async () => {
    const areas = (await stack(undefined)).flatMap((c) => plotAreas(c.svg));
    expect(areas.length).toBe(5);
    const xs = areas.map((a) => a.x);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(20);
  });

  test("values too long for the axis are labelled with SI prefixes (the whole axis), never moving the plot", async () => {
    const wide = await lineChart(
      Array.from({ length: 30 }, (_, i) => ({ x: at(i), y: 1e15 + i * 1e13 })),
      { title: "absurd", yTitle: "y", timeDomain, yAxisWidth: STACKED_Y_AXIS_WIDTH },
    );
    const narrow = await lineChart(
      Array.from({ length: 30 }, (_, i) => ({ x: at(i), y: i % 2 })),
      { title: "plain", yTitle: "y", timeDomain, yAxisWidth: STACKED_Y_AXIS_WIDTH },
    );
    expect(plotAreas(wide.svg)).toEqual(plotAreas(narrow.svg));
    expect(wide.svg).toContain(">1.1P</text>");
    expect(wide.svg).not.toContain("…");
  });
});
