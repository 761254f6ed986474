import { describe, expect, test } from "bun:test";
import { renderBundle, renderHtml, scopeSvgIds } from "./html.ts";
import type { ExecutedCell } from "./ipynb.ts";
import { parsePercent } from "./percent.ts";

const cells = parsePercent(
  "// %% [markdown]\n// # Demo page\n// <script>alert(1)</script>\n// %%\nconst a = '<b>';\n",
);
const executed: ExecutedCell[] = [
  { cell: cells[0] as ExecutedCell["cell"], status: "ok", executionCount: null, outputs: [], durationMs: 0 },
  {
    cell: cells[1] as ExecutedCell["cell"],
    status: "error",
    executionCount: 1,
    durationMs: 5,
    outputs: [
      { output_type: "stream", name: "stdout", text: "\u001b[31mred\u001b[0m <tag>\n" },
      {
        output_type: "error",
        ename: "Error",
        evalue: "boom",
        traceback: ["Error: boom", "    at demo.ts:5:1"],
      },
    ],
  },
];
const run = {
  name: "demo",
  startedAt: "2024-03-04T00:00:00.123456Z",
  durationMs: 1500,
  params: { n: 3 },
  ok: false,
};

describe("renderHtml", () => {
  test("has a header with the notebook name, UTC run time, duration and parameters", () => {
    const html = renderHtml(executed, run);
    expect(html).toContain("<title>Demo page · Tributary notebook</title>");
    expect(html).toContain("2024-03-04T00:00:00.123456Z");
    expect(html).toContain("1.50 s");
    expect(html).toContain("<code>n=3</code>");
    expect(html).toContain("failed · 1 error");
  });

  test("escapes code and output text, filters raw script tags in markdown, strips ANSI codes", () => {
    const html = renderHtml(executed, run);
    expect(html).toContain("const a = &#39;&#60;b&#62;&#39;;");
    expect(html).toContain("red &#60;tag&#62;");
    expect(html).not.toContain("\u001b");
    expect(html).not.toContain("<script>");
    expect(html).toContain("Error: boom");
  });
});

describe("renderBundle", () => {
  test("prefers SVG, then HTML, then markdown, then text", () => {
    expect(
      renderBundle({ "image/svg+xml": "<svg></svg>", "text/html": "<b>x</b>", "text/plain": "c" }),
    ).toContain('<figure class="chart" role="img" aria-label="c"><svg></svg>');
    expect(renderBundle({ "text/html": "<b>x</b>", "text/plain": "x" })).toContain("<b>x</b>");
    expect(renderBundle({ "text/markdown": "**x**", "text/plain": "x" })).toContain("<strong>x</strong>");
    expect(renderBundle({ "text/plain": "<x>" })).toBe('<pre class="text">&#60;x&#62;</pre>');
  });
});

test("scopeSvgIds renames ids and their references so several SVGs share one page", () => {
  const svg =
    '<svg><clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>';
  expect(scopeSvgIds(svg, "s2-")).toBe(
    '<svg><clipPath id="s2-clip1"><rect/></clipPath><g clip-path="url(#s2-clip1)"></g><use href="#s2-clip1"/></svg>',
  );
});
