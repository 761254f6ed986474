/**
 * The kernel behind a real front end: Debian's jupyter-notebook server (127.0.0.1, a free port, a
 * token) opens a notebook whose kernelspec is Tributary's, Chromium runs its cells, and a chart
 * appears in the page.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@tributary/shared/net/ports";
import { screenshot, withChromium } from "@tributary/shared/testing/browser";
import { serializeIpynb, toIpynb } from "../format/ipynb.ts";
import { parsePercent } from "../format/percent.ts";
import { pythonWithJupyter } from "../testing/jupyter.ts";
import { installKernelSpec } from "./kernelspec.ts";

const root = mkdtempSync(join(tmpdir(), "tributary-jupyter-server-"));
const token = crypto.randomUUID().replaceAll("-", "");
let port = 0;
let server: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  const python = pythonWithJupyter();
  installKernelSpec({ kind: "prefix", prefix: join(root, "prefix") });
  const notebooks = join(root, "notebooks");
  mkdirSync(notebooks);
  const source = [
    "// %% Chart",
    'import { display, lineChart } from "@tributary/notebooks/kit";',
    "const t0 = Date.parse('2024-03-04T00:00:00Z');",
    "display(await lineChart(Array.from({ length: 24 }, (_, i) => ({ x: t0 + i * 3_600_000, y: i % 5 })), { title: 'in jupyter', yTitle: 'value' }));",
    "",
  ].join("\n");
  const cells = parsePercent(source).map((cell) => ({
    cell,
    status: "not-run" as const,
    executionCount: null,
    outputs: [],
    durationMs: 0,
  }));
  writeFileSync(
    join(notebooks, "live.ipynb"),
    serializeIpynb(
      toIpynb(cells, {
        name: "live",
        startedAt: "2024-03-04T00:00:00.000000Z",
        durationMs: 0,
        params: {},
        ok: true,
      }),
    ),
  );
  port = freePort();
  server = Bun.spawn(
    [
      python,
      "-m",
      "notebook",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${notebooks}`,
      "--allow-root",
    ],
    {
      env: {
        ...process.env,
        JUPYTER_PATH: join(root, "prefix", "share", "jupyter"),
        JUPYTER_CONFIG_DIR: join(root, "config"),
        JUPYTER_RUNTIME_DIR: join(root, "runtime"),
      },
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error("jupyter-notebook did not start within 60 s");
    await Bun.sleep(250);
  }
}, 90_000);

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  rmSync(root, { recursive: true, force: true });
});

test("Jupyter's own server runs a notebook on the Tributary kernel and the page shows the chart", async () => {
  await withChromium(async (context) => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/notebooks/live.ipynb?token=${token}`, { waitUntil: "load" });
    // Classic Notebook: wait for the kernel to be idle, then run every cell.
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }
        ).Jupyter?.notebook?.kernel?.is_connected() === true,
      undefined,
      { timeout: 60_000 },
    );
    await page.evaluate(() =>
      (
        globalThis as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }
      ).Jupyter.notebook.execute_all_cells(),
    );
    await page.waitForSelector(".output_area svg .role-mark", { timeout: 60_000 });
    const kernelName = await page.evaluate(
      () =>
        (globalThis as unknown as { Jupyter: { notebook: { kernel: { name: string } } } }).Jupyter.notebook
          .kernel.name,
    );
    expect(kernelName).toBe("tributary-bun");
    const marks = await page.$$eval(".output_area svg .role-mark path", (ps) => ps.length);
    expect(marks).toBeGreaterThan(0);
    await screenshot(page, "notebooks", "jupyter-notebook-server");
  });
}, 120_000);
