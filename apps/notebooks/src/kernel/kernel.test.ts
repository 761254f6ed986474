/**
 * The kernel as Jupyter sees it: Debian's jupyter_client installs nothing of ours but the
 * kernelspec, starts the kernel, and drives it through state across cells, TypeScript, imports,
 * top-level await, rich output, errors with cell line numbers, is_complete / complete / inspect,
 * an interrupted `while (true)`, restart and shutdown.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { driveKernel, pythonWithJupyter, type StepResult } from "../testing/jupyter.ts";
import { KERNEL_NAME } from "./kernelspec.ts";

const CLI = resolve(import.meta.dir, "../cli.ts");
const root = mkdtempSync(join(tmpdir(), "tributary-kernel-"));
const prefix = join(root, "prefix");
const jupyterPath = join(prefix, "share", "jupyter");
let results: StepResult[];

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([process.execPath, CLI, ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out: out + err };
}

type Output = {
  type: string;
  name?: string;
  text?: string;
  data?: Record<string, unknown>;
  ename?: string;
  traceback?: string[];
};
const outputsOf = (r: StepResult | undefined): Output[] => (r?.outputs as Output[] | undefined) ?? [];
const plain = (r: StepResult | undefined): string | undefined =>
  outputsOf(r).find((o) => o.type === "execute_result")?.data?.["text/plain"] as string | undefined;

beforeAll(async () => {
  pythonWithJupyter();
  expect((await run(["kernel", "install", "--prefix", prefix])).code).toBe(0);
  results = await driveKernel(
    KERNEL_NAME,
    [
      { op: "start" },
      {
        op: "execute",
        code: 'import { join } from "node:path";\nconst base: string = "lake";\nlet count = 1;\nfunction bump(n: number): number {\n  count += n;\n  return count;\n}\nawait Bun.sleep(5);\njoin(base, "gold")',
      },
      { op: "execute", code: 'bump(2);\nconsole.log("count is", count);\ncount' },
      {
        op: "execute",
        code: 'import { display, md, table } from "@tributary/notebooks/kit";\ndisplay(table([{ id: 1n, price: "70000.10" }]));\ndisplay(md`**bold**`);',
      },
      { op: "execute", code: 'const x = 1;\n\nthrow new Error("boom on line 3");' },
      { op: "execute", code: "const y = 2;\nconst = ;" },
      { op: "is_complete", code: "function f() {\n" },
      { op: "is_complete", code: "count + 1" },
      { op: "complete", code: "Math.ma" },
      { op: "complete", code: "bu" },
      { op: "inspect", code: "count", cursor: 2 },
      { op: "execute", code: "while (true) {}", interrupt_after: 1.5, timeout: 30 },
      { op: "execute", code: "count * 10" },
      { op: "restart" },
      { op: "execute", code: "typeof count" },
      { op: "shutdown" },
    ],
    { jupyterPath, cwd: root },
  );
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the Tributary kernel driven by jupyter_client", () => {
  test("installs a kernelspec Jupyter lists, idempotently, under --prefix and --user", async () => {
    const again = await run(["kernel", "install", "--prefix", prefix]);
    expect(again.out).toContain("already installed");
    const home = join(root, "home");
    expect((await run(["kernel", "install", "--user"], { HOME: home })).code).toBe(0);
    const list = Bun.spawnSync(
      [
        pythonWithJupyter(),
        "-c",
        "import json; from jupyter_client.kernelspec import KernelSpecManager as M; print(json.dumps(M().get_all_specs()))",
      ],
      { env: { ...process.env, HOME: home, JUPYTER_PATH: jupyterPath } },
    );
    const specs = JSON.parse(list.stdout.toString()) as Record<
      string,
      { resource_dir: string; spec: { language: string; argv: string[] } }
    >;
    expect(specs[KERNEL_NAME]?.spec.language).toBe("typescript");
    expect(specs[KERNEL_NAME]?.spec.argv.at(-1)).toBe("{connection_file}");
    expect(
      readFileSync(join(home, ".local/share/jupyter/kernels", KERNEL_NAME, "kernel.json"), "utf8"),
    ).toContain("interrupt_mode");
  }, 30_000);

  test("keeps declarations, functions and imports across cells, with TypeScript and top-level await", () => {
    expect(results[1]).toMatchObject({ status: "ok", count: 1 });
    expect(plain(results[1])).toBe('"lake/gold"');
    expect(results[2]?.status).toBe("ok");
    expect(outputsOf(results[2])).toContainEqual({ type: "stream", name: "stdout", text: "count is 3\n" });
    expect(plain(results[2])).toBe("3");
  });

  test("shows the kit's tables as HTML and text, and markdown, as display_data", () => {
    expect(results[3]?.status).toBe("ok");
    const displays = outputsOf(results[3]).filter((o) => o.type === "display_data");
    expect(displays).toHaveLength(2);
    expect(String(displays[0]?.data?.["text/html"])).toContain("70000.10");
    expect(displays[0]?.data?.["text/plain"]).toBeDefined();
    expect(displays[1]?.data?.["text/markdown"]).toBe("**bold**");
  });

  test("reports errors with the cell's own line numbers", () => {
    const runtime = outputsOf(results[4]).find((o) => o.type === "error");
    expect(results[4]?.status).toBe("error");
    expect(runtime?.ename).toBe("Error");
    expect(runtime?.traceback?.join("\n")).toMatch(/In\[\d+\]:3:/);
    const syntax = outputsOf(results[5]).find((o) => o.type === "error");
    expect(syntax?.ename).toBe("SyntaxError");
    expect(syntax?.traceback?.join("\n")).toMatch(/In\[\d+\]:2:/);
  });

  test("answers is_complete, complete and inspect from the live state", () => {
    expect(results[6]).toMatchObject({ status: "incomplete" });
    expect(results[7]).toMatchObject({ status: "complete" });
    expect(results[8]?.matches).toContain("max");
    expect(results[8]).toMatchObject({ cursor_start: 5, cursor_end: 7 });
    expect(results[9]?.matches).toContain("bump");
    expect(results[10]).toMatchObject({ found: true });
    expect(String((results[10]?.data as Record<string, unknown> | undefined)?.["text/plain"])).toContain("3");
  });

  test("an interrupt stops a runaway cell and keeps the kernel and its variables", () => {
    expect(results[11]?.status).toBe("error");
    expect(outputsOf(results[11]).find((o) => o.type === "error")?.ename).toBe("InterruptedError");
    expect(plain(results[12])).toBe("30");
  });

  test("restart starts from a clean state; shutdown ends the kernel", () => {
    expect(results[13]).toMatchObject({ alive: true });
    expect(plain(results[14])).toBe('"undefined"');
    expect(results[15]).toMatchObject({ alive: false });
  });
});
