import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { listNotebooks } from "../runner/run-notebooks.ts";
import { ipynbToPercent } from "./import.ts";
import { type ExecutedCell, serializeIpynb, toIpynb } from "./ipynb.ts";
import { parsePercent } from "./percent.ts";

const CLI = resolve(import.meta.dir, "../cli.ts");
const dir = mkdtempSync(join(tmpdir(), "tributary-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function asIpynb(text: string): string {
  const cells: ExecutedCell[] = parsePercent(text).map((cell, i) => ({
    cell,
    status: "ok",
    executionCount: cell.type === "code" ? i : null,
    durationMs: 12,
    outputs: cell.type === "code" ? [{ output_type: "stream", name: "stdout", text: "output\n" }] : [],
  }));
  return serializeIpynb(
    toIpynb(cells, {
      name: "x",
      startedAt: "2024-03-04T00:00:00.000000Z",
      durationMs: 1,
      params: {},
      ok: true,
    }),
  );
}

describe("ipynb → percent", () => {
  test("each shipped notebook comes back byte for byte from its .ipynb", () => {
    for (const path of listNotebooks()) {
      const text = readFileSync(path, "utf8");
      expect({ path, text: ipynbToPercent(JSON.parse(asIpynb(text))).text }).toEqual({ path, text });
    }
  });

  test("keeps titles, tags and raw cells; drops view state and outputs", () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        {
          cell_type: "markdown",
          metadata: { jupyter: { source_hidden: true } },
          source: ["# T\n", "\n", "text"],
        },
        {
          cell_type: "code",
          metadata: { title: "Params", tags: ["parameters"], collapsed: true, scrolled: true },
          source: "const n = 1;\n",
          outputs: [{ output_type: "stream", name: "stdout", text: "x" }],
          execution_count: 3,
        },
        { cell_type: "raw", metadata: { nested: { a: { b: 1 } } }, source: "raw text" },
      ],
    };
    const imported = ipynbToPercent(nb);
    expect(imported.text).toBe(
      '// %% [markdown]\n// # T\n//\n// text\n\n// %% Params tags=["parameters"]\nconst n = 1;\n\n// %% [raw]\n// raw text\n',
    );
    expect(imported.dropped).toEqual(["cell 3: nested"]);
    expect(parsePercent(imported.text).map((c) => [c.type, c.title, c.metadata])).toEqual([
      ["markdown", undefined, {}],
      ["code", "Params", { tags: ["parameters"] }],
      ["raw", undefined, {}],
    ]);
  });

  test("bun run notebooks import writes the .ts beside the .ipynb and refuses to overwrite without --force", async () => {
    const ipynb = join(dir, "edited.ipynb");
    writeFileSync(ipynb, asIpynb("// %% Hello\nconsole.log(1);\n"));
    const run = async (args: string[]) => {
      const p = Bun.spawn([process.execPath, CLI, "import", ...args], { stdout: "pipe", stderr: "pipe" });
      return { code: await p.exited, err: await new Response(p.stderr).text() };
    };
    expect((await run([ipynb])).code).toBe(0);
    expect(readFileSync(join(dir, "edited.ts"), "utf8")).toBe("// %% Hello\nconsole.log(1);\n");
    const again = await run([ipynb]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("--force");
    expect((await run([ipynb, "--force", "--out", join(dir, "other.ts")])).code).toBe(0);
    expect((await run([join(dir, "missing.ipynb"), "--out", join(dir, "m.ts")])).code).toBe(1);
  }, 30_000);
});
