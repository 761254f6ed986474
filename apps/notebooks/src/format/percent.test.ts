import { describe, expect, test } from "bun:test";
import { PercentFormatError, parsePercent } from "./percent.ts";

describe("parsePercent", () => {
  test("splits code and markdown cells at // %% markers and uncomments markdown", () => {
    const cells = parsePercent(
      [
        "// %% [markdown]",
        "// # Title",
        "//",
        "// Some *text*.",
        "",
        "// %%",
        "const a = 1;",
        "",
        "// %% Second step",
        "console.log(a);",
        "",
      ].join("\n"),
    );
    expect(cells.map((c) => c.type)).toEqual(["markdown", "code", "code"]);
    expect(cells[0]?.source).toBe("# Title\n\nSome *text*.");
    expect(cells[1]?.source).toBe("const a = 1;");
    expect(cells[2]?.title).toBe("Second step");
    expect(cells[2]?.source).toBe("console.log(a);");
  });

  test("records marker and body line numbers (1-based) so errors map to the file", () => {
    const cells = parsePercent("// %%\nconst a = 1;\n\n// %%\n\nthrow new Error();\n");
    expect(cells[0]).toMatchObject({ markerLine: 1, firstLine: 2 });
    expect(cells[1]).toMatchObject({ markerLine: 4, firstLine: 5, lastLine: 6 });
  });

  test("content before the first marker becomes a code cell without a marker line", () => {
    const cells = parsePercent('import { x } from "y";\n\n// %% [md]\n// hi\n');
    expect(cells[0]).toMatchObject({
      type: "code",
      markerLine: undefined,
      firstLine: 1,
      source: 'import { x } from "y";',
    });
    expect(cells[1]).toMatchObject({ type: "markdown", source: "hi" });
  });

  test("parses Jupytext-style metadata after the marker and keeps the rest as the title", () => {
    const [cell] = parsePercent(
      '// %% Load data [markdown] tags=["parameters"] slideshow={"x": 1}\n// text\n',
    );
    expect(cell?.type).toBe("markdown");
    expect(cell?.title).toBe("Load data");
    expect(cell?.metadata).toEqual({ tags: ["parameters"], slideshow: { x: 1 } });
  });

  test("raw cells and CRLF line endings are handled", () => {
    const cells = parsePercent("// %% [raw]\r\n// literal\r\n// %%\r\nlet b = 2;\r\n");
    expect(cells.map((c) => [c.type, c.source])).toEqual([
      ["raw", "literal"],
      ["code", "let b = 2;"],
    ]);
  });

  test("an unknown cell type is an error naming the line", () => {
    expect(() => parsePercent("const a = 1;\n// %% [sql]\nselect 1\n")).toThrow(PercentFormatError);
    expect(() => parsePercent("const a = 1;\n// %% [sql]\nselect 1\n")).toThrow(/line 2/);
  });

  test("%%% (a comment that is not a marker) stays inside the cell", () => {
    const cells = parsePercent("// %%\nconst a = 1; // %%% not a marker\n//%%% neither\n");
    expect(cells).toHaveLength(1);
    expect(cells[0]?.source).toContain("neither");
  });
});
