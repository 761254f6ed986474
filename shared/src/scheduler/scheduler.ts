/**
 * The job scheduler every app uses. Croner computes the UTC slots; the scheduler drives one timer
 * over all jobs so that jobs due at the same instant form one tick, where a job with `after` waits
 * for its dependencies. Each logical run holds the job's lock in the run history (no overlap, even
 * across processes), has a timeout, and retries with capped exponential backoff and jitter. On start
 * it reaps processes that died mid-run and catches up missed slots; it serves manual runs and
 * backfills that the console queued in the history's `requests` table.
 */

import { randomUUID } from "node:crypto";
import type { BackoffPolicy } from "../backoff.ts";
import type { Config } from "../config.ts";
import { type HealthReport, healthReport } from "../health.ts";
import type { Logger } from "../log.ts";
import { describeError } from "./attempt.ts";
import { type BackfillOptions, type BackfillOutcome, backfillPlan, runBackfill } from "./backfill.ts";
import { type Clock, every, systemClock, type TimerHandle } from "./clock.ts";
import {
  historyPath,
  type JobSpec,
  type OwnerLiveness,
  type RequestRecord,
  RunHistory,
  type RunRecord,
  type RunTrigger,
} from "./history.ts";
import type { JobDefinition } from "./job.ts";
import { JobRegistry, jobSpec, topologicalOrder } from "./registry.ts";
import { JobRunner, type RunOutcome } from "./run.ts";
import { missedSlots, nextSlot } from "./slots.ts";

export type { BackfillOutcome, BackfillProgress } from "./backfill.ts";
export type { FinalStatus, RunOutcome } from "./run.ts";

export interface SchedulerOptions {
  readonly jobs: readonly JobDefinition[];
  readonly history: RunHistory;
  readonly log: Logger;
  readonly retry?: BackoffPolicy;
  /** Missed slots a `catchUp` job runs after downtime, at most (the newest ones). */
  readonly catchUpLimit?: number;
  readonly heartbeatMs?: number;
  /** How often queued console requests are picked up. */
  readonly requestPollMs?: number;
  /** A heartbeat older than this marks its process dead (the pid check is instant on one host). */
  readonly ownerStaleAfterMs?: number;
  /** After a timeout, how long a run may take to honour its abort signal before it is left behind. */
  readonly abortGraceMs?: number;
  readonly maxBackfillRanges?: number;
  readonly random?: () => number;
  /** Time for slots, timeouts, retry delays and heartbeats (a manual clock in tests). */
  readonly clock?: Clock;
  /** A job whose runs keep failing this long makes `health()` unhealthy (default 60 s). */
  readonly stallAfterMs?: number;
}

export interface StartOptions {
  /** Fire jobs on their cron slots (default true). */
  readonly schedule?: boolean;
  /** Run missed slots now (default true). */
  readonly catchUp?: boolean;
  /** Serve manual runs and backfills queued by the console (default true). */
  readonly requests?: boolean;
}

export interface JobStatus {
  readonly spec: JobSpec;
  readonly nextSlot: Date | undefined;
  readonly last: RunRecord | undefined;
  readonly lastSuccessAt: Date | undefined;
  readonly running: boolean;
}

export class Scheduler {
  readonly ownerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly registry: JobRegistry;
  private readonly clock: Clock;
  private readonly next = new Map<string, Date>();
  private readonly runner: JobRunner;
  private readonly active = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly history: RunHistory;
  private readonly log: Logger;
  private readonly liveness: OwnerLiveness;
  private readonly heartbeatMs: number;
  private readonly requestPollMs: number;
  private readonly abortGraceMs: number;
  private readonly catchUpLimit: number;
  private readonly maxBackfillRanges: number;
  private timers: TimerHandle[] = [];
  private tickTimer: TimerHandle | undefined;
  private catchUpDone: Promise<void> = Promise.resolve();
  private state: "new" | "started" | "stopped" = "new";

  constructor(options: SchedulerOptions) {
    this.registry = new JobRegistry(options.jobs);
    this.clock = options.clock ?? systemClock;
    this.history = options.history;
    this.log = options.log;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.liveness = { staleAfterMs: options.ownerStaleAfterMs ?? Math.max(this.heartbeatMs * 5, 10_000) };
    this.requestPollMs = options.requestPollMs ?? 1000;
    this.abortGraceMs = options.abortGraceMs ?? 5000;
    this.catchUpLimit = options.catchUpLimit ?? 24;
    this.maxBackfillRanges = options.maxBackfillRanges ?? 10_000;
    this.runner = new JobRunner({
      ownerId: this.ownerId,
      history: this.history,
      log: this.log,
      clock: this.clock,
      retry: options.retry ?? { initialMs: 1000, maxMs: 60_000 },
      random: options.random ?? Math.random,
      liveness: this.liveness,
      abortGraceMs: this.abortGraceMs,
      shutdown: this.shutdown.signal,
      stallAfterMs: options.stallAfterMs ?? 60_000,
    });
  }

  /** Registers this process as the owner of its jobs, reaps dead owners, then schedules. */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.state !== "new") throw new Error(`scheduler already ${this.state}`);
    this.state = "started";
    const abandoned = this.history.owners.reapDead(this.liveness);
    for (const run of abandoned) {
      this.log.warn("run abandoned by a dead process", { job: run.job, run: run.id, error: run.error });
    }
    this.history.owners.register(this.ownerId, this.registry.all().map(jobSpec));
    this.every(this.heartbeatMs, () => this.history.owners.heartbeat(this.ownerId));
    if (options.requests !== false) this.every(this.requestPollMs, () => this.pollRequests());
    if (options.catchUp !== false) this.catchUpDone = this.track(this.catchUp());
    if (options.schedule !== false) this.arm();
    this.log.info("scheduler started", { owner: this.ownerId, jobs: this.registry.names() });
  }

  /** Stops timers, aborts running jobs, waits for them (bounded) and records the stop. */
  async stop(reason = "stopped"): Promise<void> {
    if (this.state === "stopped") return;
    const wasStarted = this.state === "started";
    this.state = "stopped";
    this.tickTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.shutdown.abort(new Error(`scheduler ${reason}`));
    await Promise.race([Promise.allSettled([...this.active]), this.clock.sleep(this.abortGraceMs + 1000)]);
    if (wasStarted) this.history.owners.stop(this.ownerId, reason);
  }

  /** Resolves once the start-up catch-up has run. */
  whenCaughtUp(): Promise<void> {
    return this.catchUpDone;
  }

  /** Resolves when no run, catch-up or request is in flight. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  /** Progress-based health: running, and no job kept failing longer than the stall limit. */
  health(): HealthReport {
    const running = this.state === "started";
    return healthReport({
      scheduler: {
        ok: running,
        detail: running ? `running ${this.registry.names().length} jobs` : `scheduler ${this.state}`,
      },
      ...this.runner.health(),
    });
  }

  jobNames(): string[] {
    return this.registry.names();
  }

  status(): JobStatus[] {
    const last = new Map(this.history.lastFinishedPerJob().map((r) => [r.job, r]));
    const now = new Date(this.clock.now());
    return this.registry.all().map((job) => {
      const successAt = this.history.lastSuccessAt(job.name);
      return {
        spec: jobSpec(job),
        nextSlot: this.next.get(job.name) ?? nextSlot(this.cron(job.name), now),
        last: last.get(job.name),
        lastSuccessAt: successAt === undefined ? undefined : new Date(successAt / 1000),
        running: this.runner.running(job.name),
      };
    });
  }

  /** Runs a job now, outside its schedule (its `after` dependencies are not waited for). */
  trigger(name: string, options: { scheduledFor?: Date } = {}): Promise<RunOutcome> {
    const job = this.job(name);
    return this.track(this.runner.execute(job, options.scheduledFor ?? new Date(this.clock.now()), "manual"));
  }

  /**
   * Re-runs a job over [from, to): once per data partition (hour or day) it touches when the job
   * declares `partitionedBy`, else once per cron slot; oldest first.
   */
  backfill(name: string, from: Date, to: Date, options: BackfillOptions = {}): Promise<BackfillOutcome> {
    const job = this.job(name);
    const ranges = backfillPlan(job, from, to, this.maxBackfillRanges);
    return this.track(
      runBackfill(
        name,
        ranges,
        (range) => this.runner.execute(job, range.scheduledFor, "backfill", range),
        () => this.shutdown.signal.aborted,
        options,
      ),
    );
  }

  // ---- internals ----

  private job(name: string): JobDefinition {
    return this.registry.get(name);
  }

  private cron(name: string) {
    return this.registry.cron(name);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.active.add(promise);
    const done = (): void => {
      this.active.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(
      every(this.clock, ms, () => {
        try {
          fn();
        } catch (err) {
          this.log.error("scheduler housekeeping failed", { error: describeError(err) });
        }
      }),
    );
  }

  /** Sets one timer for the soonest slot over all jobs (at most a minute ahead, to follow the clock). */
  private arm(): void {
    if (this.state !== "started") return;
    const now = new Date(this.clock.now());
    let soonest = Number.POSITIVE_INFINITY;
    for (const name of this.registry.names()) {
      let next = this.next.get(name);
      if (!next) {
        next = nextSlot(this.cron(name), now);
        if (next) this.next.set(name, next);
      }
      if (next) soonest = Math.min(soonest, next.getTime());
    }
    if (!Number.isFinite(soonest)) return;
    const delay = Math.min(Math.max(soonest - this.clock.now(), 0), 60_000);
    this.tickTimer = this.clock.timer(() => this.onTimer(), delay);
  }

  private onTimer(): void {
    const now = this.clock.now();
    const groups = new Map<number, JobDefinition[]>();
    for (const job of this.registry.all()) {
      const name = job.name;
      const next = this.next.get(name);
      if (!next || next.getTime() > now) continue;
      const group = groups.get(next.getTime()) ?? [];
      group.push(job);
      groups.set(next.getTime(), group);
      const following = nextSlot(this.cron(name), new Date(Math.max(now, next.getTime())));
      if (following) this.next.set(name, following);
      else this.next.delete(name);
    }
    for (const [slot, jobs] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
      void this.track(this.runTick(new Date(slot), jobs, "schedule"));
    }
    this.arm();
  }

  /** Runs the jobs due at one slot; a job waits for its `after` dependencies that are in the tick. */
  private runTick(slot: Date, jobs: readonly JobDefinition[], trigger: RunTrigger): Promise<RunOutcome[]> {
    const inTick = new Set(jobs.map((j) => j.name));
    const results = new Map<string, Promise<RunOutcome>>();
    for (const job of topologicalOrder(jobs)) {
      const deps = (job.after ?? []).filter((d) => inTick.has(d));
      const depResults = deps
        .map((d) => results.get(d))
        .filter((p): p is Promise<RunOutcome> => p !== undefined);
      results.set(
        job.name,
        (async () => {
          const outcomes = await Promise.all(depResults);
          const failed = outcomes.find((o) => o.status !== "succeeded");
          if (failed)
            return this.runner.skip(
              job,
              slot,
              trigger,
              `dependency ${failed.job} ended ${failed.status} in this tick`,
            );
          return this.runner.execute(job, slot, trigger);
        })(),
      );
    }
    return Promise.all(results.values());
  }

  private async catchUp(): Promise<void> {
    const now = new Date(this.clock.now());
    const plan = new Map<number, JobDefinition[]>();
    for (const job of this.registry.all()) {
      const last = this.history.lastSuccessfulSlot(job.name);
      if (last === undefined) continue; // never ran: nothing was missed yet
      const limit = job.catchUp ? this.catchUpLimit : 1;
      const { slots, more } = missedSlots(this.cron(job.name), new Date(Math.floor(last / 1000)), now, limit);
      if (more && job.catchUp) {
        this.log.warn("more slots were missed than catch-up runs; backfill the rest", {
          job: job.name,
          limit,
          backfill: `bun run jobs backfill ${job.name} --from ${new Date(last / 1000).toISOString()} --to ${slots[0]?.toISOString()}`,
        });
      }
      for (const slot of slots) {
        const group = plan.get(slot.getTime()) ?? [];
        group.push(job);
        plan.set(slot.getTime(), group);
      }
    }
    for (const [slot, jobs] of [...plan.entries()].sort((a, b) => a[0] - b[0])) {
      if (this.shutdown.signal.aborted) return;
      this.log.info("catching up a missed slot", {
        slot: new Date(slot).toISOString(),
        jobs: jobs.map((j) => j.name),
      });
      await this.runTick(new Date(slot), jobs, "catch-up");
    }
  }

  private pollRequests(): void {
    if (this.state !== "started") return;
    for (const request of this.history.requests.claim(this.ownerId, this.registry.names())) {
      void this.track(this.serveRequest(request));
    }
  }

  private async serveRequest(request: RequestRecord): Promise<void> {
    try {
      if (request.kind === "run") {
        const outcome = await this.trigger(request.job);
        const ok = outcome.status === "succeeded";
        this.history.requests.finish(request.id, ok ? "done" : "failed", summarize(outcome));
      } else {
        if (request.rangeFrom === null || request.rangeTo === null) {
          throw new Error("a backfill request needs a range");
        }
        const result = await this.backfill(
          request.job,
          new Date(request.rangeFrom / 1000),
          new Date(request.rangeTo / 1000),
        );
        const ok = result.failed === 0 && !result.stoppedEarly;
        this.history.requests.finish(
          request.id,
          ok ? "done" : "failed",
          `${result.succeeded}/${result.ranges} ranges succeeded${result.stoppedEarly ? ", stopped at the first failure" : ""}`,
        );
      }
    } catch (err) {
      this.history.requests.finish(request.id, "failed", describeError(err));
    }
  }
}

function summarize(outcome: RunOutcome): string {
  const rows = outcome.rows === undefined ? "" : `, ${outcome.rows} rows`;
  const error = outcome.error ? `: ${outcome.error}` : "";
  return `${outcome.status} after ${outcome.attempts} attempt(s)${rows}${error}`;
}

/** Builds a scheduler over the run history in the state directory, with the configured policy. */
export function createScheduler(
  config: Pick<Config, "stateDir" | "scheduler" | "health">,
  jobs: readonly JobDefinition[],
  log: Logger,
  overrides: Partial<SchedulerOptions> = {},
): Scheduler {
  const history = overrides.history ?? RunHistory.open(historyPath(config.stateDir));
  return new Scheduler({
    jobs,
    history,
    log,
    retry: { initialMs: config.scheduler.retryBaseMs, maxMs: config.scheduler.retryCapMs },
    catchUpLimit: config.scheduler.catchUpLimit,
    stallAfterMs: config.health.stallAfterMs,
    ...overrides,
  });
}
