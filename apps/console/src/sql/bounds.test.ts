/**
 * Every accepted query ends by its deadline and gives its slot back, answers are bounded in bytes,
 * spill stays in the state directory under its bound, and SQL the old keyword filter refused runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { peakRssMb } from "@tributary/shared/peak-rss";
import { type RunningConsole, startConsole } from "../server.ts";
import { QueryEngine } from "./engine.ts";

const TIMEOUT_MS = 1500;
const RUNAWAY = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t";
/** The console's resident memory while it refuses a 300 MB answer (documented in docs/console.md). */
const MEMORY_BOUND_MB = 1024;
const REPO = resolve(import.meta.dir, "../../../..");
const CONSOLE_CLI = join(REPO, "apps/console/src/cli.ts");

let scratch: string;
let lakeRoot: string;
let consoleApp: RunningConsole;

const start = (timeoutMs: number): Promise<RunningConsole> =>
  startConsole(
    loadConfig({
      ...process.env,
      LAKE_URI: lakeRoot,
      TRIBUTARY_STATE_DIR: join(scratch, "state"),
      CONSOLE_SOURCES: "none",
      CONSOLE_QUERY_TIMEOUT_MS: String(timeoutMs),
      CONSOLE_QUERY_MAX_BYTES: String(8 * 1024 * 1024),
    }),
    { port: 0, log: createLogger("bounds", "error", () => {}) },
  );

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-bounds-"));
  lakeRoot = join(scratch, "lake");
  for (const layer of ["bronze", "silver", "gold"]) mkdirSync(join(lakeRoot, layer), { recursive: true });
  consoleApp = await start(TIMEOUT_MS);
}, 30_000);

afterAll(async () => {
  await consoleApp?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const ask = (sql: string, app = consoleApp.app) =>
  app.request("/api/query", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sql }),
  });

describe("bounded queries", () => {
  test("50 concurrent runaway queries all end, and SELECT 42 then answers within the limit", async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 50 }, () => ask(RUNAWAY)));
    const wallMs = performance.now() - started;
    const statuses = answers.map((a) => a.status);
    expect(new Set(statuses)).toEqual(new Set([400]));
    const reasons = await Promise.all(
      answers.map(async (a) => ((await a.json()) as { error: string }).error),
    );
    for (const r of reasons) expect(r).toMatch(/longer than the limit|waited|too many queries are waiting/);
    // Each ends by its own deadline; none outlives it by more than a scheduling hiccup.
    expect(wallMs).toBeLessThan(TIMEOUT_MS + 1500);
    const t0 = performance.now();
    const res = await ask("SELECT 42 AS answer");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: unknown[][] }).rows).toEqual([[42]]);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT_MS);
  }, 30_000);

  test("a deadline of 1 to 5 ms stops the statement whichever step it falls in, and the slot comes back", async () => {
    const engine = await QueryEngine.create({ lakeRoot });
    try {
      for (const timeoutMs of [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]) {
        const t0 = performance.now();
        await expect(engine.query(RUNAWAY, { rowLimit: 10, timeoutMs })).rejects.toThrow(
          `longer than the limit of ${timeoutMs} ms`,
        );
        expect(performance.now() - t0).toBeLessThan(timeoutMs + 500);
      }
      expect(engine.slots.state).toEqual({ running: 0, waiting: 0 });
    } finally {
      engine.close();
    }
  });

  test("a 300 MB answer is refused with a 400 while the console stays under its memory bound", async () => {
    // The console runs as its own process (`bun run console`), so its peak RSS is its own: the kernel's
    // high-water mark (VmHWM) after the query, not this test process with everything it loaded.
    const port = freePort();
    const child = Bun.spawn(["bun", CONSOLE_CLI], {
      cwd: REPO,
      env: {
        ...process.env,
        LAKE_URI: lakeRoot,
        TRIBUTARY_STATE_DIR: join(scratch, "state-child"),
        CONSOLE_HOST: "127.0.0.1",
        CONSOLE_PORT: String(port),
        CONSOLE_SOURCES: "none",
        // DuckDB needs a few seconds to build 300 MB of strings here: give this console the time.
        CONSOLE_QUERY_TIMEOUT_MS: "30000",
        CONSOLE_QUERY_MAX_BYTES: String(8 * 1024 * 1024),
        LOG_LEVEL: "error",
      },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const query = (sql: string) =>
        fetch(`${url}/api/query`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ sql }),
        });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const up = await fetch(`${url}/health`).then(
          () => true,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`the console did not start: ${await new Response(child.stderr).text()}`);
        await Bun.sleep(100);
      }
      const res = await query("SELECT repeat('x', 100000000) AS s FROM range(3)");
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain(
        "the answer is larger than 8388608 bytes",
      );
      const peakMb = peakRssMb(child.pid);
      if (peakMb === undefined) throw new Error(`no VmHWM for the console process ${child.pid}`);
      console.log(
        `peak RSS of the console process while refusing a 300 MB answer: ${Math.round(peakMb)} MiB`,
      );
      expect(peakMb).toBeLessThan(MEMORY_BOUND_MB);
      const small = await query("SELECT repeat('x', 1000) AS s FROM range(100)");
      expect(small.status).toBe(200);
    } finally {
      child.kill();
      await child.exited;
    }
  }, 60_000);

  test("a query that spills writes under the state directory and stops at the spill bound", async () => {
    const spillDir = join(scratch, "state", "console", "spill", "test");
    const engine = await QueryEngine.create({ lakeRoot, memoryLimit: "64MB", spillDir, spillLimitMb: 2 });
    try {
      const big =
        "SELECT count(*) FROM (SELECT DISTINCT (range * 7919) % 40000000 AS k, repeat('x', 20) AS pad FROM range(40000000))";
      await expect(engine.query(big, { rowLimit: 1, timeoutMs: 20_000 })).rejects.toThrow(
        "more than the 2 MiB it may spill to disk (CONSOLE_QUERY_SPILL_MB)",
      );
      expect(existsSync(join(process.cwd(), ".tmp"))).toBe(false);
      expect(readdirSync(join(scratch, "state", "console", "spill"))).toContain("test");
    } finally {
      engine.close();
    }
  }, 30_000);
});

describe("SQL the keyword filter used to refuse", () => {
  test("escaped quotes and columns named like keywords run", async () => {
    const res = await ask("SELECT E'\\'' AS a, 1 AS set, 2 AS load, 'COPY' AS copy");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { columns: { name: string }[]; rows: unknown[][] };
    expect(body.columns.map((c) => c.name)).toEqual(["a", "set", "load", "copy"]);
    expect(body.rows).toEqual([["'", 1, 2, "COPY"]]);
  });

  test("timestamps answer in RFC 3339 UTC with microseconds", async () => {
    const res = await ask("SELECT TIMESTAMPTZ '2026-12-05 06:55:11.174565+00' AS ts");
    expect(((await res.json()) as { rows: unknown[][] }).rows).toEqual([["2026-12-05T06:55:11.174565Z"]]);
  });
});
