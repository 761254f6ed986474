import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../log.ts";
import { ManualClock } from "./clock.ts";
import { RunHistory } from "./history.ts";
import { type JobContext, type JobDefinition, PermanentJobError } from "./job.ts";
import { JobRegistryError, validateJobs } from "./registry.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";

const log = createLogger("test", "error", () => {});
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function tempHistory(): { history: RunHistory; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "sched-"));
  const path = join(dir, "runs.sqlite");
  const history = RunHistory.open(path);
  cleanups.push(() => {
    history.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { history, path };
}

function job(partial: Partial<JobDefinition> & Pick<JobDefinition, "name" | "run">): JobDefinition {
  return { pattern: "0 0 1 1 *", description: partial.name, timeoutMs: 5000, ...partial };
}

/** Every test's time: 300 ms past a whole UTC second; it moves only when a test advances it. */
const T0 = Date.UTC(2024, 2, 1, 12, 0, 0, 300);
let clock = new ManualClock(T0);

function scheduler(
  history: RunHistory,
  jobs: JobDefinition[],
  extra: Partial<SchedulerOptions> = {},
): Scheduler {
  const s = new Scheduler({
    jobs,
    history,
    log,
    retry: { initialMs: 10, maxMs: 40 },
    random: () => 0,
    abortGraceMs: 200,
    requestPollMs: 100,
    heartbeatMs: 200,
    clock,
    ...extra,
  });
  cleanups.push(async () => {
    const stopped = s.stop();
    await clock.advance(10_000);
    await stopped;
  });
  return s;
}

/** Advances the clock until `work` settles (at most `maxMs` of clock time), then returns its result. */
async function drive<T>(work: Promise<T>, maxMs = 60_000): Promise<T> {
  let settled = false;
  work.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await clock.until(() => settled, maxMs, 5);
  return work;
}

beforeEach(() => {
  clock = new ManualClock(T0);
});

describe("scheduler: runs, retries, timeouts", () => {
  test("a manual run is recorded with start, end, status and rows", async () => {
    const { history } = tempHistory();
    const s = scheduler(history, [job({ name: "demo.rows", run: async () => ({ rows: 42 }) })]);
    await s.start({ schedule: false, catchUp: false });
    const outcome = await s.trigger("demo.rows");
    expect(outcome.status).toBe("succeeded");
    expect(outcome.rows).toBe(42);
    const [run] = history.recentRuns({ job: "demo.rows" });
    expect(run?.status).toBe("succeeded");
    expect(run?.rows).toBe(42);
    expect(run?.trigger).toBe("manual");
    expect(run?.endedAt).toBeGreaterThanOrEqual(run?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  test("a failing job is retried with capped exponential backoff until it succeeds", async () => {
    const { history } = tempHistory();
    const starts: number[] = [];
    const s = scheduler(history, [
      job({
        name: "demo.flaky",
        retries: 3,
        run: async () => {
          starts.push(clock.now());
          if (starts.length < 3) throw new Error(`broker unavailable (${starts.length})`);
          return { rows: 1 };
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const outcome = await drive(s.trigger("demo.flaky"));
    expect(outcome.status).toBe("succeeded");
    expect(outcome.attempts).toBe(3);
    const runs = history.recentRuns({ job: "demo.flaky" }).reverse();
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, "failed"],
      [2, "failed"],
      [3, "succeeded"],
    ]);
    expect(runs[0]?.error).toBe("broker unavailable (1)");
    // random() = 0 gives half the ceiling: 5 ms then 10 ms of clock time (base 10, doubling).
    expect(starts.map((t) => t - T0)).toEqual([0, 5, 15]);
  });

  test("retries are bounded: the run fails after 1 + retries attempts", async () => {
    const { history } = tempHistory();
    let calls = 0;
    const s = scheduler(history, [
      job({
        name: "demo.down",
        retries: 2,
        run: async () => {
          calls++;
          throw new Error("still down");
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const outcome = await drive(s.trigger("demo.down"));
    expect(outcome.status).toBe("failed");
    expect(calls).toBe(3);
    expect(outcome.error).toBe("still down");
  });

  test("a PermanentJobError is not retried", async () => {
    const { history } = tempHistory();
    let calls = 0;
    const s = scheduler(history, [
      job({
        name: "demo.badsql",
        retries: 5,
        run: async () => {
          calls++;
          throw new PermanentJobError("syntax error in silver.sql");
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const outcome = await s.trigger("demo.badsql");
    expect(outcome.status).toBe("failed");
    expect(calls).toBe(1);
    expect(outcome.error).toBe("PermanentJobError: syntax error in silver.sql");
  });

  test("a run longer than its timeout is aborted and recorded timed_out", async () => {
    const { history } = tempHistory();
    let sawAbort = false;
    const s = scheduler(history, [
      job({
        name: "demo.slow",
        timeoutMs: 100,
        run: (ctx: JobContext) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener("abort", () => {
              sawAbort = true;
              reject(ctx.signal.reason);
            });
          }),
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const outcome = await drive(s.trigger("demo.slow"));
    expect(outcome.status).toBe("timed_out");
    expect(sawAbort).toBe(true);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(100);
    expect(clock.now() - T0).toBeLessThan(200);
    expect(history.recentRuns({ job: "demo.slow" })[0]?.error).toContain("exceeded its timeout of 100 ms");
  });

  test("a job that ignores its abort keeps the lock until it returns (no overlap)", async () => {
    const { history } = tempHistory();
    let release: () => void = () => undefined;
    const s = scheduler(history, [
      job({
        name: "demo.stubborn",
        timeoutMs: 50,
        run: () =>
          new Promise((resolve) => {
            release = () => resolve({});
          }),
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    expect((await drive(s.trigger("demo.stubborn"))).status).toBe("timed_out");
    const second = await s.trigger("demo.stubborn");
    expect(second.status).toBe("skipped");
    expect(second.error).toContain("still in flight");
    release();
    await clock.advance(0);
    // Once the stubborn run returned, the job is free again; the clock stands still, so it succeeds.
    const third = s.trigger("demo.stubborn");
    await clock.advance(0);
    release();
    expect((await third).status).toBe("succeeded");
  });
});

describe("scheduler: overlap, dependencies, schedule", () => {
  test("a second trigger while a run is in flight is skipped, in-process and across processes", async () => {
    const { history, path } = tempHistory();
    let finish: () => void = () => undefined;
    const slow = job({
      name: "demo.long",
      run: () =>
        new Promise((resolve) => {
          finish = () => resolve({ rows: 1 });
        }),
    });
    const a = scheduler(history, [slow]);
    await a.start({ schedule: false, catchUp: false });
    const first = a.trigger("demo.long");
    await clock.advance(0);
    const sameProcess = await a.trigger("demo.long");
    expect(sameProcess.status).toBe("skipped");

    const other = RunHistory.open(path);
    cleanups.push(() => other.close());
    const b = scheduler(other, [slow]);
    await b.start({ schedule: false, catchUp: false });
    const otherProcess = await b.trigger("demo.long");
    expect(otherProcess.status).toBe("skipped");
    expect(otherProcess.error).toContain(`the previous run is still running (process ${process.pid}`);
    finish();
    expect((await first).status).toBe("succeeded");
    // The lock is released: the next run goes ahead.
    const next = b.trigger("demo.long");
    await clock.advance(0);
    finish();
    expect((await next).status).toBe("succeeded");
  });

  test("jobs due in the same tick run after their dependencies, and are skipped when one fails", async () => {
    const { history } = tempHistory();
    const order: string[] = [];
    let silverFails = false;
    const jobs = [
      job({
        name: "gold.candles",
        pattern: "* * * * * *",
        after: ["silver.trades"],
        run: async () => {
          order.push("gold");
          return {};
        },
      }),
      job({
        name: "silver.trades",
        pattern: "* * * * * *",
        run: async () => {
          await clock.sleep(50);
          order.push("silver");
          if (silverFails) throw new Error("silver broke");
          return {};
        },
      }),
    ];
    const s = scheduler(history, jobs);
    await s.start({ catchUp: false });
    await clock.advance(1000);
    silverFails = true;
    await clock.advance(1000);
    await drive(s.stop());
    expect(order).toEqual(["silver", "gold", "silver"]);
    const skipped = history.recentRuns({ job: "gold.candles" }).filter((r) => r.status === "skipped");
    expect(skipped.map((r) => [r.scheduledFor, r.error])).toEqual([
      [(T0 + 1700) * 1000, "dependency silver.trades ended failed in this tick"],
    ]);
  });

  test("scheduled runs fire on whole-second UTC slots", async () => {
    const { history } = tempHistory();
    const slots: Date[] = [];
    const s = scheduler(history, [
      job({
        name: "demo.tick",
        pattern: "* * * * * *",
        run: async (ctx) => {
          slots.push(ctx.scheduledFor);
          return {};
        },
      }),
    ]);
    await s.start({ catchUp: false });
    await clock.advance(2300);
    await drive(s.stop());
    expect(slots.map((d) => d.toISOString())).toEqual([
      "2024-03-01T12:00:01.000Z",
      "2024-03-01T12:00:02.000Z",
    ]);
  });
});

describe("scheduler: catch-up, backfill, requests, dead processes", () => {
  function seedSuccess(history: RunHistory, name: string, slot: number): void {
    const id = history.startRun({
      job: name,
      scheduledFor: slot * 1000,
      trigger: "schedule",
      attempt: 1,
      owner: "old",
    });
    history.finishRun(id, { status: "succeeded", rows: 0 });
  }

  test("after downtime a catchUp job runs every missed slot (capped), oldest first", async () => {
    const { history } = tempHistory();
    const now = T0 - 300;
    seedSuccess(history, "demo.catchup", now - 6000);
    const seen: number[] = [];
    const s = scheduler(
      history,
      [
        job({
          name: "demo.catchup",
          pattern: "* * * * * *",
          catchUp: true,
          run: async (ctx) => {
            seen.push(ctx.scheduledFor.getTime());
            return {};
          },
        }),
      ],
      { catchUpLimit: 4 },
    );
    await s.start({ schedule: false });
    await s.whenCaughtUp();
    expect(seen).toEqual([now - 3000, now - 2000, now - 1000, now]);
    expect(history.recentRuns({ job: "demo.catchup" })[0]?.trigger).toBe("catch-up");
  });

  test("without catchUp only the latest missed slot runs", async () => {
    const { history } = tempHistory();
    const now = T0 - 300;
    seedSuccess(history, "demo.latest", now - 10_000);
    const seen: number[] = [];
    const s = scheduler(history, [
      job({
        name: "demo.latest",
        pattern: "* * * * * *",
        run: async (ctx) => {
          seen.push(ctx.scheduledFor.getTime());
          return {};
        },
      }),
    ]);
    await s.start({ schedule: false });
    await s.whenCaughtUp();
    expect(seen).toEqual([now]);
  });

  test("a backfill runs one slot range at a time over [from, to) and reports progress", async () => {
    const { history } = tempHistory();
    const ranges: [string, string][] = [];
    const s = scheduler(history, [
      job({
        name: "demo.hourly",
        pattern: "0 * * * *",
        run: async (ctx) => {
          if (!ctx.range) throw new Error("no range");
          ranges.push([ctx.range.from.toISOString(), ctx.range.to.toISOString()]);
          return { rows: 10 };
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const progress: number[] = [];
    const outcome = await s.backfill(
      "demo.hourly",
      new Date("2024-03-01T22:00:00Z"),
      new Date("2024-03-02T01:00:00Z"),
      {
        onProgress: (p) => progress.push(p.done),
      },
    );
    expect(ranges).toEqual([
      ["2024-03-01T22:00:00.000Z", "2024-03-01T23:00:00.000Z"],
      ["2024-03-01T23:00:00.000Z", "2024-03-02T00:00:00.000Z"],
      ["2024-03-02T00:00:00.000Z", "2024-03-02T01:00:00.000Z"],
    ]);
    expect(progress).toEqual([0, 1, 2, 3]);
    expect(outcome.succeeded).toBe(3);
    const runs = history.recentRuns({ job: "demo.hourly" });
    expect(runs.every((r) => r.trigger === "backfill" && r.rangeFrom !== null)).toBe(true);
  });

  test("a backfill stops at the first failed range unless told to continue", async () => {
    const { history } = tempHistory();
    const s = scheduler(history, [
      job({
        name: "demo.daily",
        pattern: "0 0 * * *",
        run: async (ctx) => {
          if (ctx.scheduledFor.toISOString().startsWith("2024-03-02")) throw new Error("bad day");
          return {};
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const stop = await s.backfill(
      "demo.daily",
      new Date("2024-03-01T00:00:00Z"),
      new Date("2024-03-05T00:00:00Z"),
    );
    expect([stop.ranges, stop.succeeded, stop.failed, stop.stoppedEarly]).toEqual([4, 1, 1, true]);
    const go = await s.backfill(
      "demo.daily",
      new Date("2024-03-01T00:00:00Z"),
      new Date("2024-03-05T00:00:00Z"),
      {
        continueOnError: true,
      },
    );
    expect([go.succeeded, go.failed, go.stoppedEarly]).toEqual([3, 1, false]);
  });

  test("a run requested through the history (the console's button) is executed by the owning scheduler", async () => {
    const { history, path } = tempHistory();
    let runs = 0;
    const s = scheduler(history, [
      job({
        name: "demo.button",
        run: async () => {
          runs++;
          return { rows: 7 };
        },
      }),
    ]);
    await s.start({ schedule: false, catchUp: false });
    const consoleSide = RunHistory.open(path);
    cleanups.push(() => consoleSide.close());
    const id = consoleSide.requests.add({ job: "demo.button", kind: "run", requestedBy: "console" });
    // The scheduler polls every 100 ms of clock time: the request is served at the first poll.
    await clock.until(() => consoleSide.requests.get(id)?.status === "done", 100, 100);
    expect(consoleSide.requests.get(id)?.status).toBe("done");
    expect(consoleSide.requests.get(id)?.message).toBe("succeeded after 1 attempt(s), 7 rows");
    expect(runs).toBe(1);
  });

  test("a run left running by a killed process is marked abandoned when a scheduler starts", async () => {
    const { history } = tempHistory();
    const child = Bun.spawn(["sleep", "0"]);
    await child.exited;
    // A process that registered, started a run and then died (its pid no longer exists).
    history.db
      .query(
        "INSERT INTO owners (id, pid, host, started_at, heartbeat_at, jobs) VALUES ('dead', $pid, $host, 1, $now, '[]')",
      )
      .run({ pid: child.pid, host: history.host, now: Date.now() * 1000 });
    const runId = history.startRun({
      job: "demo.killed",
      scheduledFor: 0,
      trigger: "schedule",
      attempt: 1,
      owner: "dead",
    });
    history.db.query("INSERT INTO locks (job, owner, acquired_at) VALUES ('demo.killed', 'dead', 1)").run();
    const s = scheduler(history, [job({ name: "demo.killed", run: async () => ({}) })]);
    await s.start({ schedule: false, catchUp: false });
    const run = history.run(runId);
    expect(run?.status).toBe("abandoned");
    expect(run?.error).toContain(`process ${child.pid}`);
    // Its lock was released, so the job runs again.
    expect((await s.trigger("demo.killed")).status).toBe("succeeded");
  });
});

describe("job registry validation", () => {
  test("duplicate names, bad patterns, unknown dependencies and cycles are all reported", () => {
    const run = async () => ({});
    try {
      validateJobs([
        job({ name: "a.one", run }),
        job({ name: "a.one", run }),
        job({ name: "a.two", pattern: "every minute", run }),
        job({ name: "a.three", after: ["a.nope"], run }),
      ]);
      throw new Error("expected a JobRegistryError");
    } catch (err) {
      expect(err).toBeInstanceOf(JobRegistryError);
      const problems = (err as JobRegistryError).problems;
      expect(problems[0]).toBe("job a.one: registered twice");
      expect(problems[1]).toContain('job a.two: invalid cron pattern "every minute"');
      expect(problems[2]).toBe("job a.three: runs after a.nope, which is not registered");
    }
    expect(() =>
      validateJobs([job({ name: "x.a", after: ["x.b"], run }), job({ name: "x.b", after: ["x.a"], run })]),
    ).toThrow("jobs depend on each other in a cycle: x.a → x.b → x.a");
  });
});
