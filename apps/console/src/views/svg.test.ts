import { describe, expect, test } from "bun:test";
import { parseDuckTime } from "../quality/charts.ts";
import { html } from "./html.ts";
import { lineChart } from "./svg.ts";

describe("server-side rendering helpers", () => {
  test("interpolations are escaped; nested html passes through", () => {
    const name = `<script>alert("x")</script>`;
    expect(html`<p>${name}</p>${html`<b>ok</b>`}`.value).toBe(
      "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p><b>ok</b>",
    );
  });

  test("a line chart draws one path per series, escapes names, and says when there is no data", () => {
    const svg = lineChart({
      title: "rows",
      series: [
        {
          name: "BTC_USD",
          points: [
            { x: 0, y: 1 },
            { x: 3_600_000, y: 3 },
          ],
        },
        { name: "<ETH>", points: [{ x: 0, y: 2 }] },
      ],
    });
    expect(svg.match(/class="series"/g)?.length).toBe(2);
    expect(svg).toContain("&lt;ETH&gt;");
    expect(lineChart({ title: "empty", series: [] })).toContain("no data");
  });

  test("DuckDB's DATE, TIMESTAMP and TIMESTAMPTZ text read as UTC instants", () => {
    expect(parseDuckTime("2024-05-01")).toBe(Date.parse("2024-05-01T00:00:00Z"));
    expect(parseDuckTime("2024-05-01 14:00:00")).toBe(Date.parse("2024-05-01T14:00:00Z"));
    expect(parseDuckTime("2024-05-01 14:00:00.123456+00")).toBe(Date.parse("2024-05-01T14:00:00.123Z"));
    expect(parseDuckTime("2024-05-01 16:00:00+02")).toBe(Date.parse("2024-05-01T14:00:00Z"));
    expect(Number.isNaN(parseDuckTime("yesterday"))).toBe(true);
  });
});
