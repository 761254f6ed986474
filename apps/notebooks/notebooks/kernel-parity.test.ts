/**
 * One notebook, two ways: the batch runner's `.ipynb`, executed again cell by cell through the
 * Tributary kernel by Debian's nbclient (what `jupyter execute` does), runs with no error and
 * yields the same outputs, cell for cell. The one output that depends on the wall clock, the age of
 * each dataset's newest row in data-quality's freshness table (a fixture from 2024, so "24190.9 h"),
 * can tick between the two runs, minutes apart; `comparable` masks ages and only ages.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installKernelSpec, KERNEL_NAME } from "../src/kernel/kernelspec.ts";
import { type RunNotebooksResult, runNotebooks } from "../src/runner/run-notebooks.ts";
import { pythonWithJupyter, runPython } from "../src/testing/jupyter.ts";
import { buildLakeFixture } from "../src/testing/lake-fixture.ts";

const EXECUTE = join(import.meta.dir, "../src/testing/execute_notebooks.py");
const root = mkdtempSync(join(tmpdir(), "tributary-parity-"));
let batch: RunNotebooksResult;
let timings: { name: string; seconds: number }[];

interface Output {
  readonly output_type: string;
  readonly name?: string;
  readonly text?: string | string[];
  readonly data?: Record<string, unknown>;
  readonly ename?: string;
  readonly evalue?: string;
}
type Notebook = { readonly cells: readonly { readonly cell_type: string; readonly outputs?: Output[] }[] };

/** An age in hours as the freshness table prints it ("24190.9 h"); nothing else prints tenths of hours. */
const AGE = /\b\d+\.\d h\b/g;
const maskAges = (v: unknown): unknown => (typeof v === "string" ? v.replace(AGE, "<age> h") : v);
const join_ = (v: unknown): unknown =>
  maskAges(Array.isArray(v) && v.every((x) => typeof x === "string") ? v.join("") : v);

/** Outputs as a reader sees them: streams merged per name run, multi-line strings joined. */
function comparable(nb: Notebook): unknown[][] {
  return nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => {
      const out: Record<string, unknown>[] = [];
      for (const o of c.outputs ?? []) {
        const prev = out[out.length - 1];
        if (o.output_type === "stream" && prev?.type === "stream" && prev.name === o.name) {
          prev.text = `${prev.text}${join_(o.text)}`;
          continue;
        }
        if (o.output_type === "stream") out.push({ type: "stream", name: o.name, text: join_(o.text) });
        else if (o.output_type === "error") out.push({ type: "error", ename: o.ename, evalue: o.evalue });
        else {
          const data = Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, join_(v)]));
          out.push({ type: o.output_type, data });
        }
      }
      return out;
    });
}

const read = (path: string): Notebook => JSON.parse(readFileSync(path, "utf8")) as Notebook;

beforeAll(async () => {
  pythonWithJupyter();
  const lake = await buildLakeFixture(join(root, "lake"), { hours: 6, book: { minutes: 60 } });
  const env = { ...process.env, LAKE_URI: lake.dir };
  batch = await runNotebooks({ outDir: join(root, "batch"), env, timeoutMs: 120_000 });
  installKernelSpec({ kind: "prefix", prefix: join(root, "prefix") });
  const kernelOut = join(root, "kernel");
  mkdirSync(kernelOut);
  const { stdout, stderr, code } = await runPython(
    [EXECUTE, KERNEL_NAME, kernelOut, ...batch.notebooks.map((n) => n.ipynbPath)],
    { env: { ...env, JUPYTER_PATH: join(root, "prefix", "share", "jupyter") } },
  );
  if (code !== 0) throw new Error(`nbclient failed (exit ${code}):\n${stderr.slice(-4000)}`);
  timings = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { name: string; seconds: number });
}, 600_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

test("nbclient runs every notebook through the Tributary kernel with no error", () => {
  expect(batch.ok).toBe(true);
  expect(timings.map((t) => t.name)).toEqual(batch.notebooks.map((n) => n.name));
  for (const nb of batch.notebooks) {
    const kernel = read(join(root, "kernel", `${nb.name}.ipynb`));
    const errors = comparable(kernel)
      .flat()
      .filter((o) => (o as { type: string }).type === "error");
    expect({ notebook: nb.name, errors }).toEqual({ notebook: nb.name, errors: [] });
  }
});

test("the kernel's outputs match the batch runner's, cell for cell", () => {
  // The mask hits the freshness ages (and the comparison below would flake without it).
  const quality = batch.notebooks.find((n) => n.name === "data-quality");
  expect(JSON.stringify(comparable(read(String(quality?.ipynbPath))))).toContain("<td><age> h</td>");
  for (const nb of batch.notebooks) {
    const fromBatch = comparable(read(nb.ipynbPath));
    const fromKernel = comparable(read(join(root, "kernel", `${nb.name}.ipynb`)));
    expect(fromKernel.length).toBe(fromBatch.length);
    fromBatch.forEach((cell, i) => {
      expect({ notebook: nb.name, cell: i, outputs: fromKernel[i] }).toEqual({
        notebook: nb.name,
        cell: i,
        outputs: cell,
      });
    });
  }
});
