/**
 * The scheduler's /health measures progress, end to end: `jobs start` (the real CLI entry, real clock,
 * real lake jobs, its HTTP server) over a lake whose root is a regular file, so every silver.trades
 * run fails. /health turns 503 within HEALTH_STALL_AFTER_S of the first failed run (plus a stated
 * allowance) naming the job; once the lake is usable the next run succeeds and /health is 200 again.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { runJobsCli } from "@tributary/shared/scheduler/cli";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { healthBecomes } from "@tributary/shared/testing/health";
import { scheduledJobs } from "./registry.ts";

const STALL_S = 3;
/** Past the stall limit: /health is polled every POLL_MS and one answer may queue behind a running job. */
const ALLOWANCE_MS = 1_500;
const POLL_MS = 100;
const JOB = "silver.trades";
const scratch = mkdtempSync(join(tmpdir(), "tributary-jobs-health-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("a job failing on an unusable lake: /health 503 within the stall limit naming the job, 200 after its next success", async () => {
  const stateDir = join(scratch, "state");
  const lake = join(scratch, "lake");
  writeFileSync(lake, "not a directory\n"); // every read of the lake fails
  const config = loadConfig({
    ...process.env,
    TRIBUTARY_STATE_DIR: stateDir,
    LAKE_URI: lake,
    HEALTH_STALL_AFTER_S: String(STALL_S),
  });
  // One job of the real registry: the hourly and minute jobs would fail for their own reasons.
  const jobs = scheduledJobs(config).filter((j) => j.name === JOB);
  expect(jobs).toHaveLength(1);
  let stop: (signal: string) => void = () => undefined;
  const lines: string[] = [];
  let announced: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => {
    announced = resolve;
  });
  const exit = runJobsCli(["start"], {
    config,
    jobs,
    log: createLogger("jobs-health-test", "error", () => {}),
    io: {
      out: (line) => {
        lines.push(line);
        const m = /health and metrics on (http:\/\/127\.0\.0\.1:\d+)\/health/.exec(line);
        if (m) announced(m[1] as string);
      },
      err: { write: () => true },
      stopSignal: new Promise<string>((resolve) => {
        stop = resolve;
      }),
      healthPort: 0,
    },
  });
  try {
    const base = await url;
    const history = RunHistory.open(historyPath(stateDir));
    try {
      // The first failed run ends with its last attempt (after its retries); the stall clock starts then.
      const attempts = 1 + ((jobs[0] as (typeof jobs)[number]).retries ?? 0);
      const deadline = Date.now() + 30_000;
      let firstFailedAt: number | undefined;
      while (firstFailedAt === undefined && Date.now() < deadline) {
        const last = history
          .recentRuns({ job: JOB, limit: 50 })
          .filter((r) => r.status === "failed" && r.attempt === attempts)
          .at(-1);
        if (last?.endedAt)
          firstFailedAt = last.endedAt / 1000; // µs since the epoch
        else await Bun.sleep(POLL_MS);
      }
      expect(firstFailedAt).toBeNumber();
      const down = await healthBecomes(base, 503, 30_000, POLL_MS);
      const downAfterMs = Math.round(Date.now() - (firstFailedAt as number));
      console.log(`lake unusable: /health 503 ${downAfterMs} ms after the first failed run ended`);
      expect(down.status).toBe(503);
      expect(down.body.checks[`job:${JOB}`]?.detail).toStartWith(
        "stalled: its runs fail and no successful run for",
      );
      expect(downAfterMs).toBeGreaterThanOrEqual(STALL_S * 1000); // one failed run is not a stall
      expect(downAfterMs).toBeLessThanOrEqual(STALL_S * 1000 + ALLOWANCE_MS);

      rmSync(lake); // the lake becomes a directory the job can create
      const up = await healthBecomes(base, 200, 30_000, POLL_MS);
      console.log(`lake usable: /health 200 after ${up.afterMs} ms`);
      expect(up.status).toBe(200);
      expect(history.recentRuns({ job: JOB, limit: 1 })[0]?.status).toBe("succeeded");
    } finally {
      history.close();
    }
  } finally {
    stop("SIGTERM");
    expect(await exit).toBe(0);
  }
}, 120_000);
