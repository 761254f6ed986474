import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../log.ts";
import { ManualClock } from "./clock.ts";
import { MAX_LOG_LINES, parseStatuses, RunHistory } from "./history.ts";
import { Scheduler } from "./scheduler.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(): RunHistory {
  const dir = mkdtempSync(join(tmpdir(), "history-"));
  dirs.push(dir);
  return RunHistory.open(join(dir, "runs.sqlite"));
}

function seed(
  history: RunHistory,
  job: string,
  status: "succeeded" | "failed",
  trigger = "schedule",
): number {
  const id = history.startRun({
    job,
    scheduledFor: 0,
    trigger: trigger as "schedule",
    attempt: 1,
    owner: "t",
  });
  history.finishRun(id, { status, ...(status === "failed" ? { error: "boom" } : {}) });
  return id;
}

describe("run history", () => {
  test("a job's log lines and its error are kept with each attempt", async () => {
    const history = open();
    const clock = new ManualClock(Date.UTC(2024, 2, 1));
    let calls = 0;
    const scheduler = new Scheduler({
      history,
      clock,
      log: createLogger("t", "error", () => {}),
      retry: { initialMs: 10, maxMs: 10 },
      random: () => 0,
      jobs: [
        {
          name: "demo.logs",
          pattern: "0 0 1 1 *",
          description: "logs",
          timeoutMs: 1000,
          retries: 1,
          run: async (ctx) => {
            calls++;
            ctx.log.info("reading partitions", { hours: 3 });
            ctx.log.child("step").warn("slow partition");
            if (calls === 1) throw new Error("disk full");
            return { rows: 3 };
          },
        },
      ],
    });
    await scheduler.start({ schedule: false, catchUp: false });
    const outcome = scheduler.trigger("demo.logs");
    await clock.until(() => calls === 2, 1000);
    expect((await outcome).status).toBe("succeeded");
    const [second, first] = history.recentRuns({ job: "demo.logs" });
    expect(history.runLogs(first?.id ?? -1).map((l) => [l.level, l.message])).toEqual([
      ["info", 'reading partitions {"hours":3}'],
      ["warn", "slow partition"],
      ["error", "attempt 1 failed: disk full"],
    ]);
    expect(history.runLogs(second?.id ?? -1).map((l) => l.message)).toEqual([
      'reading partitions {"hours":3}',
      "slow partition",
    ]);
    await scheduler.stop();
    history.close();
  });

  test("a run keeps a bounded number of log lines, and pruning a run drops its logs", () => {
    const history = open();
    const id = seed(history, "demo.chatty", "succeeded");
    for (let i = 0; i < MAX_LOG_LINES + 50; i++) history.appendLog(id, "info", `line ${i}`);
    const lines = history.runLogs(id);
    expect(lines.length).toBe(MAX_LOG_LINES + 1);
    expect(lines.at(-1)?.message).toBe(`later lines dropped: a run keeps at most ${MAX_LOG_LINES} log lines`);
    expect(history.prune(Number.MAX_SAFE_INTEGER)).toBe(1);
    expect(history.runLogs(id)).toEqual([]);
    history.close();
  });

  test("runs are filtered by job, status and trigger, and paged by id", () => {
    const history = open();
    // Ids 1..7 alternate a.even (odd ids) and a.odd; every third fails; id 8 is a failed backfill.
    for (let i = 0; i < 7; i++) seed(history, i % 2 ? "a.odd" : "a.even", i % 3 ? "succeeded" : "failed");
    seed(history, "a.even", "failed", "backfill");
    const failed = { statuses: parseStatuses("failed,timed_out") };
    expect(history.countRuns(failed)).toBe(4);
    expect(history.countRuns({ ...failed, trigger: "schedule" })).toBe(3);
    expect(history.countRuns({ job: "a.odd" })).toBe(3);
    const page1 = history.recentRuns({ job: "a.even", limit: 2 });
    const page2 = history.recentRuns({ job: "a.even", limit: 2, beforeId: page1.at(-1)?.id ?? 0 });
    expect([...page1, ...page2].map((r) => r.id)).toEqual([8, 7, 5, 3]);
    expect(() => parseStatuses("failed,nope")).toThrow('status "nope": expected one of running, succeeded');
    history.close();
  });

  test("a job whose runs keep failing longer than the stall limit makes the scheduler unhealthy until it succeeds", async () => {
    const history = open();
    const clock = new ManualClock(Date.UTC(2024, 2, 1));
    let failing = true;
    const scheduler = new Scheduler({
      history,
      clock,
      stallAfterMs: 60_000,
      log: createLogger("t", "error", () => {}),
      jobs: [
        {
          name: "gold.flaky",
          pattern: "*/5 * * * * *",
          description: "flaky",
          timeoutMs: 1000,
          run: async () => {
            if (failing) throw new Error("disk full");
            return {};
          },
        },
      ],
    });
    await scheduler.start({ catchUp: false, requests: false });
    await clock.advance(30_000);
    expect(scheduler.health().ok).toBe(true); // one failure is not a stall
    await clock.advance(40_000); // failing since the first slot (5 s): 65 s without a success
    const stalled = scheduler.health();
    expect(stalled.ok).toBe(false);
    expect(stalled.checks["job:gold.flaky"]?.detail).toStartWith(
      "stalled: its runs fail and no successful run for",
    );
    failing = false;
    await clock.advance(5_000);
    expect(scheduler.health().ok).toBe(true);
    const stopped = scheduler.stop();
    await clock.advance(10_000);
    await stopped;
    expect(scheduler.health().checks.scheduler?.ok).toBe(false);
    history.close();
  });
});
