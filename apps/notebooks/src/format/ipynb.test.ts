import { describe, expect, test } from "bun:test";
import { type ExecutedCell, serializeIpynb, toIpynb, toLines } from "./ipynb.ts";
import { parsePercent } from "./percent.ts";
import { validateNotebook } from "./validate.ts";

const run = {
  name: "demo",
  startedAt: "2024-03-04T00:00:00.000000Z",
  durationMs: 12,
  params: { n: 3 },
  ok: false,
};

function executed(): ExecutedCell[] {
  const cells = parsePercent(
    "// %% [markdown]\n// # Demo\n// %%\nconsole.log(1);\n// %%\nthrow 1;\n// %%\nlater();\n",
  );
  return [
    {
      cell: cells[0] as ExecutedCell["cell"],
      status: "ok",
      executionCount: null,
      outputs: [],
      durationMs: 0,
    },
    {
      cell: cells[1] as ExecutedCell["cell"],
      status: "ok",
      executionCount: 1,
      durationMs: 3,
      outputs: [
        { output_type: "stream", name: "stdout", text: "1\n2\n" },
        {
          output_type: "display_data",
          data: {
            "text/plain": "chart",
            "image/svg+xml": "<svg></svg>",
            "application/vnd.vegalite.v5+json": { mark: "bar" },
          },
          metadata: {},
        },
      ],
    },
    {
      cell: cells[2] as ExecutedCell["cell"],
      status: "error",
      executionCount: 2,
      durationMs: 1,
      outputs: [
        { output_type: "error", ename: "Error", evalue: "1", traceback: ["Error: 1", "    at demo.ts:6:1"] },
      ],
    },
    {
      cell: cells[3] as ExecutedCell["cell"],
      status: "not-run",
      executionCount: null,
      outputs: [],
      durationMs: 0,
    },
  ];
}

describe("toIpynb", () => {
  test("produces an nbformat 4.5 notebook that validates against the official schema", () => {
    const nb = JSON.parse(serializeIpynb(toIpynb(executed(), run)));
    const result = validateNotebook(nb);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(nb.nbformat).toBe(4);
    expect(nb.nbformat_minor).toBe(5);
    expect(nb.metadata.kernelspec.language).toBe("typescript");
    expect(nb.metadata.language_info.name).toBe("typescript");
  });

  test("keeps streams, rich displays (JSON mime types as objects) and errors per cell", () => {
    const nb = toIpynb(executed(), run);
    const code = nb.cells[1] as { outputs: Record<string, unknown>[]; execution_count: number };
    expect(code.execution_count).toBe(1);
    expect(code.outputs[0]).toEqual({ output_type: "stream", name: "stdout", text: ["1\n", "2\n"] });
    const data = (code.outputs[1] as { data: Record<string, unknown> }).data;
    expect(data["application/vnd.vegalite.v5+json"]).toEqual({ mark: "bar" });
    expect(data["image/svg+xml"]).toEqual(["<svg></svg>"]);
    const failed = nb.cells[2] as { outputs: { output_type: string; ename: string }[] };
    expect(failed.outputs[0]).toMatchObject({ output_type: "error", ename: "Error" });
    expect((nb.cells[3] as { execution_count: number | null }).execution_count).toBeNull();
  });

  test("cell ids are unique, schema-conformant and stable across runs", () => {
    const a = toIpynb(executed(), run).cells.map((c) => c.id);
    const b = toIpynb(executed(), { ...run, durationMs: 99 }).cells.map((c) => c.id);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    for (const id of a) expect(String(id)).toMatch(/^[a-zA-Z0-9-_]{1,64}$/);
  });

  test("serializes with sorted keys and a trailing newline", () => {
    const text = serializeIpynb(toIpynb(executed(), run));
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.indexOf('"cells"')).toBeLessThan(text.indexOf('"metadata"'));
  });
});

describe("validateNotebook", () => {
  test("rejects a 4.5 notebook whose cell lacks the required id", () => {
    const nb = JSON.parse(serializeIpynb(toIpynb(executed(), run)));
    delete nb.cells[1].id;
    const result = validateNotebook(nb);
    expect(result.valid).toBe(false);
    expect(result.errors.join("\n")).toContain("/cells/1");
  });

  test("rejects an output with an unknown output_type", () => {
    const nb = JSON.parse(serializeIpynb(toIpynb(executed(), run)));
    nb.cells[1].outputs.push({ output_type: "log", text: "x" });
    expect(validateNotebook(nb).valid).toBe(false);
  });
});

test("toLines splits like Jupyter: newline kept on every line but the last", () => {
  expect(toLines("a\nb")).toEqual(["a\n", "b"]);
  expect(toLines("a\n")).toEqual(["a\n"]);
  expect(toLines("")).toEqual([]);
});
