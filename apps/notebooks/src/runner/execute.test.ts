import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ErrorOutput } from "../format/ipynb.ts";
import { executeNotebook, type ProgressEvent } from "./execute.ts";

const KIT = resolve(import.meta.dir, "../kit/index.ts");
const dir = mkdtempSync(join(tmpdir(), "tributary-runner-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function notebook(name: string, lines: readonly string[]): string {
  const path = join(dir, `${name}.ts`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

describe("executeNotebook", () => {
  test("cells share variables, top-level await works, outputs land on their own cell", async () => {
    const path = notebook("shared", [
      "// %% [markdown]",
      "// # Shared",
      "// %%",
      `import { display, md } from "${KIT}";`,
      "const base = 20;",
      'console.log("first", base);',
      "// %%",
      "const later = await Promise.resolve(base + 1);",
      'console.error("warn", later);',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: notebook source text
      "display(md`**${later}**`);",
      "// %%",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: notebook source text
      "process.stdout.write(`raw ${later * 2}\\n`);",
    ]);
    const events: ProgressEvent[] = [];
    const result = await executeNotebook(path, { timeoutMs: 30_000, onProgress: (e) => events.push(e) });
    expect(result.run.ok).toBe(true);
    const [, c1, c2, c3] = result.cells;
    expect(c1?.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "first 20\n" }]);
    expect(c2?.outputs).toEqual([
      { output_type: "stream", name: "stderr", text: "warn 21\n" },
      {
        output_type: "display_data",
        data: { "text/markdown": "**21**", "text/plain": "**21**" },
        metadata: {},
      },
    ]);
    expect(c3?.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "raw 42\n" }]);
    expect(result.cells.map((c) => c.executionCount)).toEqual([null, 1, 2, 3]);
    expect(events.filter((e) => e.kind === "cell-end").map((e) => [e.ordinal, e.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  }, 60_000);

  test("an exception becomes an error output on its cell, with the notebook's line, and later cells do not run", async () => {
    const path = notebook("failing", [
      "// %%",
      "const x = 1;",
      "// %%",
      'console.log("before");',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: notebook source text
      "throw new RangeError(`bad ${x}`);",
      "// %%",
      'console.log("never");',
    ]);
    const result = await executeNotebook(path, { timeoutMs: 30_000 });
    expect(result.run.ok).toBe(false);
    expect(result.cells.map((c) => c.status)).toEqual(["ok", "error", "not-run"]);
    const error = result.cells[1]?.outputs.find((o): o is ErrorOutput => o.output_type === "error");
    expect(error?.ename).toBe("RangeError");
    expect(error?.evalue).toBe("bad 1");
    expect(error?.traceback.join("\n")).toContain(`${path}:5`);
    expect(result.cells[2]?.outputs).toEqual([]);
  }, 60_000);

  test("an unhandled rejection fails the run", async () => {
    const path = notebook("rejection", [
      "// %%",
      'Promise.reject(new Error("lost"));',
      "await Bun.sleep(200);",
    ]);
    const result = await executeNotebook(path, { timeoutMs: 30_000 });
    expect(result.run.ok).toBe(false);
    const error = result.cells[0]?.outputs.find((o) => o.output_type === "error") as ErrorOutput | undefined;
    expect(error?.evalue).toBe("lost");
  }, 60_000);

  test("a syntax error is reported on the first code cell", async () => {
    const path = notebook("syntax", ["// %%", "const = ;"]);
    const result = await executeNotebook(path, { timeoutMs: 30_000 });
    expect(result.run.ok).toBe(false);
    expect(result.cells[0]?.status).toBe("error");
  }, 60_000);

  test("the timeout stops the child and marks the running cell", async () => {
    const path = notebook("slow", ["// %%", 'console.log("start");', "// %%", "await Bun.sleep(60_000);"]);
    const started = Date.now();
    const result = await executeNotebook(path, { timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.timedOut).toBe(true);
    expect(result.run.ok).toBe(false);
    expect(result.cells[0]?.status).toBe("ok");
    const error = result.cells[1]?.outputs.find((o) => o.output_type === "error") as ErrorOutput | undefined;
    expect(error?.ename).toBe("TimeoutError");
  }, 60_000);

  test("--param values reach defineParams with their declared types", async () => {
    const path = notebook("params", [
      "// %%",
      `import { defineParams } from "${KIT}";`,
      'const p = defineParams({ n: 1, names: ["a"], flag: false });',
      "console.log(JSON.stringify(p));",
    ]);
    const result = await executeNotebook(path, {
      timeoutMs: 30_000,
      params: { n: "7", names: "x,y", flag: "yes" },
    });
    expect(result.cells[0]?.outputs).toEqual([
      { output_type: "stream", name: "stdout", text: '{"n":7,"names":["x","y"],"flag":true}\n' },
    ]);
    expect(result.run.params).toEqual({ n: 7, names: ["x", "y"], flag: true });
  }, 60_000);

  test("leaves no generated program behind", async () => {
    const path = notebook("tidy", ["// %%", "1;"]);
    await executeNotebook(path, { timeoutMs: 30_000 });
    expect(existsSync(join(dir, ".run")) ? readdirSync(join(dir, ".run")) : []).toEqual([]);
  }, 60_000);
});
