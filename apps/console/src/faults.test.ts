/**
 * Faults must show on the overview and in /health within one refresh (CONSOLE_REFRESH_MS):
 * a job process killed mid-run, a broker that does not answer, a dataset gone stale.
 * The shared Kafka is never stopped: a second console points at a port where nothing listens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { screenshot as shoot, withChromium } from "@tributary/shared/testing/browser";
import type { HealthPart } from "./health/overview.ts";
import { type RunningConsole, startConsole } from "./server.ts";

const screenshot = (page: Parameters<typeof shoot>[0], name: string) => shoot(page, "console", name);

import { createLakeFixture, type LakeFixture } from "./testing/lake-fixture.ts";
import { freePort } from "./testing/source-stand-in.ts";

const REFRESH_MS = 1000;
const quiet = createLogger("console-faults", "error", () => true);
let lake: LakeFixture;
let scratch: string;
let config: Config;
let running: RunningConsole;

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
  running = await startConsole(config, { port: 0, log: quiet });
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
    lake.age("silver", "trades", config.console.staleAfterS.silver + 600);
    await Bun.sleep(REFRESH_MS);
    const after = await health(running.url);
    expect(after.status).toBe(503);
    const part = after.parts.find((p) => p.part === "dataset:silver/trades");
    expect(part?.ok).toBe(false);
    expect(part?.detail).toBe("stale: last commit 70 min ago, limit 60 min");
    expect(after.parts.find((p) => p.part === "dataset:bronze/kraken_trades")?.ok).toBe(true);
    await withChromium(async (context) => {
      const page = await context.newPage();
      await page.goto(`${running.url}/`);
      expect(await page.locator('#lake tr[data-dataset="silver/trades"]').textContent()).toContain("stale");
      lake.age("bronze", "kraken_trades", config.console.staleAfterS.bronze + 60);
      // The open page refreshes itself: the bronze dataset turns stale without a reload.
      await page
        .locator('#lake tr[data-dataset="bronze/kraken_trades"] .badge.bad')
        .waitFor({ timeout: REFRESH_MS * 2 + 1000 });
      await screenshot(page, "fault-stale-dataset");
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
});
