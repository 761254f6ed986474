/**
 * Faults must show on the overview and in /health within one refresh (CONSOLE_REFRESH_MS):
 * a job process killed mid-run, a broker that does not answer, a dataset gone stale.
 * The shared Kafka is never stopped: a second console points at a port where nothing listens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { screenshot as shoot, withChromium } from "@tributary/shared/testing/browser";
import type { HealthPart } from "./health/overview.ts";
import { type RunningConsole, startConsole } from "./server.ts";

const screenshot = (page: Parameters<typeof shoot>[0], name: string) => shoot(page, "console", name);

import { createLakeFixture, type LakeFixture } from "./testing/lake-fixture.ts";

const REFRESH_MS = 1000;
const quiet = createLogger("console-faults", "error", () => {});
let lake: LakeFixture;
let scratch: string;
let config: Config;
let running: RunningConsole;
/** How far the console's clock runs ahead of the wall clock (ages datasets judged by their commits). */
let clockAheadMs = 0;

beforeAll(async () => {
  lake = await createLakeFixture({ hours: 1 });
  scratch = mkdtempSync(join(tmpdir(), "console-faults-"));
  config = loadConfig({
    ...process.env,
    LAKE_URI: lake.root,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
    CONSOLE_REFRESH_MS: String(REFRESH_MS),
    CONSOLE_NOTEBOOKS_DIR: join(scratch, "notebooks"),
  });
  running = await startConsole(config, { port: 0, log: quiet, now: () => Date.now() + clockAheadMs });
}, 60_000);

afterAll(async () => {
  await running?.stop();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(lake.root, { recursive: true, force: true });
}, 30_000);

async function health(url: string): Promise<{ status: number; parts: HealthPart[] }> {
  const res = await fetch(`${url}/health`);
  const body = (await res.json()) as { parts: HealthPart[] };
  return { status: res.status, parts: body.parts };
}

const failing = (parts: readonly HealthPart[]): string[] =>
  parts.filter((p) => !p.ok).map((p) => `${p.part}: ${p.detail}`);

describe("faults show within one refresh", () => {
  test("a job process killed mid-run: its process is dead and its run abandoned", async () => {
    expect((await health(running.url)).status).toBe(200);
    const child = Bun.spawn(["bun", resolve(import.meta.dir, "testing/job-process.ts"), config.stateDir], {
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const history = RunHistory.open(historyPath(config.stateDir));
      try {
        const deadline = Date.now() + 15_000;
        while (
          !history.recentRuns({ job: "test.sleepy" }).some((r) => r.status === "running") &&
          Date.now() < deadline
        ) {
          await Bun.sleep(100);
        }
        expect(history.recentRuns({ job: "test.sleepy" })[0]?.status).toBe("running");
      } finally {
        history.close();
      }
      await Bun.sleep(REFRESH_MS);
      const before = await health(running.url);
      expect(failing(before.parts)).toEqual([]);

      child.kill("SIGKILL");
      await child.exited;
      await Bun.sleep(REFRESH_MS);
      const after = await health(running.url);
      expect(after.status).toBe(503);
      const scheduler = after.parts.find((p) => p.part === "scheduler");
      expect(scheduler?.ok).toBe(false);
      expect(scheduler?.detail).toContain(`process ${child.pid}`);
      expect(scheduler?.detail).toContain("while running test.sleepy");
      expect(after.parts.find((p) => p.part === "job:test.sleepy")?.detail).toBe("last run abandoned");

      await withChromium(async (context) => {
        const page = await context.newPage();
        await page.goto(`${running.url}/`);
        expect(await page.locator("#health").textContent()).toContain("while running test.sleepy");
        expect(await page.locator("#jobs").textContent()).toContain("abandoned");
        expect(await page.locator(`#jobs tr[data-process="${child.pid}"]`).textContent()).toContain("dead");
        await screenshot(page, "fault-killed-job-process");
      });
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  test("a stale dataset: its newest commit is older than its layer's limit", async () => {
    lake.age("silver", "kraken_trades", config.console.staleAfterS.silver + 600);
    await Bun.sleep(REFRESH_MS);
    const after = await health(running.url);
    expect(after.status).toBe(503);
    const part = after.parts.find((p) => p.part === "dataset:silver/kraken_trades");
    expect(part?.ok).toBe(false);
    expect(part?.detail).toBe("stale: last commit 70 min ago, limit 60 min");
    expect(after.parts.find((p) => p.part === "dataset:bronze/kraken_trades")?.ok).toBe(true);
    await withChromium(async (context) => {
      const page = await context.newPage();
      await page.goto(`${running.url}/`);
      expect(await page.locator('#lake tr[data-dataset="silver/kraken_trades"]').textContent()).toContain(
        "stale",
      );
      // Bronze's freshness is its newest commit record: time passes on the console's clock.
      clockAheadMs = (config.console.staleAfterS.bronze + 60) * 1000;
      // The open page refreshes itself: the bronze dataset turns stale without a reload.
      await page
        .locator('#lake tr[data-dataset="bronze/kraken_trades"] .badge.bad')
        .waitFor({ timeout: REFRESH_MS * 2 + 1000 });
      await screenshot(page, "fault-stale-dataset");
      clockAheadMs = 0;
    });
  }, 60_000);

  test("a broker that does not answer: Kafka is down on the overview and /health is 503", async () => {
    const port = freePort();
    const offline = await startConsole(
      loadConfig({
        ...process.env,
        LAKE_URI: lake.root,
        TRIBUTARY_STATE_DIR: join(scratch, "state-offline"),
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        CONSOLE_SOURCES: "none",
        CONSOLE_REFRESH_MS: String(REFRESH_MS),
        CONSOLE_NOTEBOOKS_DIR: join(scratch, "notebooks"),
      }),
      { port: 0, log: quiet },
    );
    try {
      const started = Date.now();
      const result = await health(offline.url);
      expect(Date.now() - started).toBeLessThan(REFRESH_MS + 4000);
      expect(result.status).toBe(503);
      const kafka = result.parts.find((p) => p.part === "kafka");
      expect(kafka?.ok).toBe(false);
      expect(kafka?.detail).toStartWith(`Kafka down at 127.0.0.1:${port}`);
      await withChromium(async (context) => {
        const page = await context.newPage();
        await page.goto(`${offline.url}/`);
        expect(await page.locator("#kafka").textContent()).toContain("Kafka is down");
        expect(await page.locator("#health-badge").textContent()).toContain("down");
        await screenshot(page, "fault-kafka-down");
      });
    } finally {
      await offline.stop();
    }
  }, 60_000);

  test("bad entries in a layer mark only their dataset unreadable, with the reason", async () => {
    const outside = mkdtempSync(join(tmpdir(), "console-outside-"));
    mkdirSync(join(outside, "x"), { recursive: true });
    writeFileSync(join(outside, "x", "part-0.parquet"), "not parquet");
    const silver = join(lake.root, "silver");
    const bad = {
      dangling: "is a link to something that does not exist",
      escaped: "is a link out of the silver layer",
      stray: "is not a directory",
      broken: "its files cannot be read as one table",
    };
    symlinkSync(join(scratch, "nowhere"), join(silver, "dangling"));
    symlinkSync(join(outside, "x"), join(silver, "escaped"));
    writeFileSync(join(silver, "stray"), "a file where a dataset belongs");
    mkdirSync(join(silver, "broken"));
    writeFileSync(join(silver, "broken", "part-0.parquet"), "not parquet either");
    symlinkSync(join(silver, "kraken_trades"), join(silver, "trades_alias"));
    try {
      await Bun.sleep(REFRESH_MS);
      const result = await health(running.url);
      expect(result.status).toBe(503);
      for (const [name, reason] of Object.entries(bad)) {
        const part = result.parts.find((p) => p.part === `dataset:silver/${name}`);
        expect([name, part?.ok, part?.detail]).toEqual([name, false, expect.stringContaining(reason)]);
      }
      const lakePart = result.parts.find((p) => p.part === "lake");
      expect(lakePart?.ok).toBe(true);
      // Everything else stays listed and queryable, the link inside the layer included.
      const ask = async (sql: string) =>
        (await (
          await fetch(`${running.url}/api/query`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ sql }),
          })
        ).json()) as { rows: unknown[][] };
      expect((await ask("SELECT count(*) FROM silver.kraken_trades")).rows).toEqual([["1200"]]);
      expect((await ask("SELECT count(*) FROM silver.trades_alias")).rows).toEqual([["1200"]]);
      const page = await (await fetch(`${running.url}/lake`)).text();
      expect(page).toContain("unreadable");
      expect(page).toContain('data-dataset="bronze/kraken_trades"');
    } finally {
      for (const name of [...Object.keys(bad), "trades_alias"])
        rmSync(join(silver, name), { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  }, 60_000);
});
