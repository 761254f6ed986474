/**
 * The job scheduler every app uses. Croner computes the UTC slots; the scheduler drives one timer
 * over all jobs so that jobs due at the same instant form one tick, where a job with `after` waits
 * for its dependencies. Each logical run holds the job's lock in the run history (no overlap, even
 * across processes), has a timeout, and retries with capped exponential backoff and jitter. On start
 * it reaps processes that died mid-run and catches up missed slots; it serves manual runs and
 * backfills that the console queued in the history's `requests` table.
 */
import { randomUUID } from "node:crypto";
import type { Cron } from "croner";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { type BackoffPolicy, retryDelayMs, sleep } from "./backoff.ts";
import {
  historyPath,
  type JobSpec,
  type OwnerLiveness,
  type RequestRecord,
  RunHistory,
  type RunRecord,
  type RunStatus,
  type RunTrigger,
} from "./history.ts";
import { type JobContext, type JobDefinition, type JobResult, PermanentJobError } from "./job.ts";
import { backfillRanges, type CronPatternError, cronFor, missedSlots, nextSlot } from "./slots.ts";

export type FinalStatus = Exclude<RunStatus, "running">;

export interface RunOutcome {
  readonly job: string;
  readonly status: FinalStatus;
  readonly scheduledFor: Date;
  /** History ids of every attempt (one for a skip). */
  readonly runIds: readonly number[];
  readonly attempts: number;
  readonly rows?: number;
  readonly error?: string;
}

export interface BackfillOutcome {
  readonly job: string;
  readonly ranges: number;
  readonly succeeded: number;
  readonly failed: number;
  /** True when a failure (or shutdown) ended the backfill before its last range. */
  readonly stoppedEarly: boolean;
  readonly outcomes: readonly RunOutcome[];
}

export interface BackfillProgress {
  readonly done: number;
  readonly total: number;
  readonly current?: { readonly from: Date; readonly to: Date };
  readonly last?: RunOutcome;
}

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

export class JobRegistryError extends Error {
  override readonly name = "JobRegistryError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid job registry:\n  - ${problems.join("\n  - ")}`);
  }
}

export class UnknownJobError extends Error {
  override readonly name = "UnknownJobError";
}

export class JobTimeoutError extends Error {
  override readonly name = "JobTimeoutError";
}

/** Checks names, patterns, timeouts, retries and `after` references (no unknown names, no cycles). */
export function validateJobs(jobs: readonly JobDefinition[]): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const job of jobs) {
    if (!/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/.test(job.name)) {
      problems.push(
        `job name ${JSON.stringify(job.name)}: expected dotted lower-case words such as silver.trades`,
      );
    }
    if (names.has(job.name)) problems.push(`job ${job.name}: registered twice`);
    names.add(job.name);
    try {
      cronFor(job.pattern);
    } catch (err) {
      problems.push(`job ${job.name}: ${(err as CronPatternError).message}`);
    }
    if (!Number.isInteger(job.timeoutMs) || job.timeoutMs <= 0) {
      problems.push(`job ${job.name}: timeoutMs must be a positive integer, got ${job.timeoutMs}`);
    }
    const retries = job.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0 || retries > 20) {
      problems.push(`job ${job.name}: retries must be an integer from 0 to 20, got ${retries}`);
    }
  }
  for (const job of jobs) {
    for (const dep of job.after ?? []) {
      if (!names.has(dep)) problems.push(`job ${job.name}: runs after ${dep}, which is not registered`);
    }
  }
  if (problems.length === 0) {
    try {
      topologicalOrder(jobs);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new JobRegistryError(problems);
}

/** Jobs ordered so that each comes after the jobs it names in `after` (among those given). */
export function topologicalOrder(jobs: readonly JobDefinition[]): JobDefinition[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const state = new Map<string, "visiting" | "done">();
  const out: JobDefinition[] = [];
  const visit = (job: JobDefinition, path: string[]): void => {
    const s = state.get(job.name);
    if (s === "done") return;
    if (s === "visiting")
      throw new Error(`jobs depend on each other in a cycle: ${[...path, job.name].join(" → ")}`);
    state.set(job.name, "visiting");
    for (const dep of job.after ?? []) {
      const d = byName.get(dep);
      if (d) visit(d, [...path, job.name]);
    }
    state.set(job.name, "done");
    out.push(job);
  };
  for (const job of jobs) visit(job, []);
  return out;
}

export function jobSpec(job: JobDefinition): JobSpec {
  return {
    name: job.name,
    pattern: job.pattern,
    description: job.description,
    timeoutMs: job.timeoutMs,
    retries: job.retries ?? 0,
    catchUp: job.catchUp ?? false,
    after: [...(job.after ?? [])],
  };
}

const describeError = (err: unknown): string => {
  if (err instanceof Error)
    return err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message;
  return String(err);
};

export class Scheduler {
  readonly ownerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly jobs: ReadonlyMap<string, JobDefinition>;
  private readonly crons = new Map<string, Cron>();
  private readonly next = new Map<string, Date>();
  private readonly inFlight = new Set<string>();
  private readonly active = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly history: RunHistory;
  private readonly log: Logger;
  private readonly retry: BackoffPolicy;
  private readonly liveness: OwnerLiveness;
  private readonly heartbeatMs: number;
  private readonly requestPollMs: number;
  private readonly abortGraceMs: number;
  private readonly catchUpLimit: number;
  private readonly maxBackfillRanges: number;
  private readonly random: () => number;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private tickTimer: ReturnType<typeof setTimeout> | undefined;
  private catchUpDone: Promise<void> = Promise.resolve();
  private state: "new" | "started" | "stopped" = "new";

  constructor(options: SchedulerOptions) {
    validateJobs(options.jobs);
    this.jobs = new Map(options.jobs.map((j) => [j.name, j]));
    for (const job of options.jobs) this.crons.set(job.name, cronFor(job.pattern));
    this.history = options.history;
    this.log = options.log;
    this.retry = options.retry ?? { baseMs: 1000, capMs: 60_000 };
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.liveness = { staleAfterMs: options.ownerStaleAfterMs ?? Math.max(this.heartbeatMs * 5, 10_000) };
    this.requestPollMs = options.requestPollMs ?? 1000;
    this.abortGraceMs = options.abortGraceMs ?? 5000;
    this.catchUpLimit = options.catchUpLimit ?? 24;
    this.maxBackfillRanges = options.maxBackfillRanges ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** Registers this process as the owner of its jobs, reaps dead owners, then schedules. */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.state !== "new") throw new Error(`scheduler already ${this.state}`);
    this.state = "started";
    const abandoned = this.history.reapDeadOwners(this.liveness);
    for (const run of abandoned) {
      this.log.warn("run abandoned by a dead process", { job: run.job, run: run.id, error: run.error });
    }
    this.history.registerOwner(this.ownerId, [...this.jobs.values()].map(jobSpec));
    this.every(this.heartbeatMs, () => this.history.heartbeat(this.ownerId));
    if (options.requests !== false) this.every(this.requestPollMs, () => this.pollRequests());
    if (options.catchUp !== false) this.catchUpDone = this.track(this.catchUp());
    if (options.schedule !== false) this.arm();
    this.log.info("scheduler started", { owner: this.ownerId, jobs: [...this.jobs.keys()] });
  }

  /** Stops timers, aborts running jobs, waits for them (bounded) and records the stop. */
  async stop(reason = "stopped"): Promise<void> {
    if (this.state === "stopped") return;
    const wasStarted = this.state === "started";
    this.state = "stopped";
    if (this.tickTimer) clearTimeout(this.tickTimer);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.shutdown.abort(new Error(`scheduler ${reason}`));
    await Promise.race([Promise.allSettled([...this.active]), sleep(this.abortGraceMs + 1000)]);
    if (wasStarted) this.history.stopOwner(this.ownerId, reason);
  }

  /** Resolves once the start-up catch-up has run. */
  whenCaughtUp(): Promise<void> {
    return this.catchUpDone;
  }

  /** Resolves when no run, catch-up or request is in flight. */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  jobNames(): string[] {
    return [...this.jobs.keys()];
  }

  status(): JobStatus[] {
    const last = new Map(this.history.lastFinishedPerJob().map((r) => [r.job, r]));
    const now = new Date();
    return [...this.jobs.values()].map((job) => {
      const successAt = this.history.lastSuccessAt(job.name);
      return {
        spec: jobSpec(job),
        nextSlot: this.next.get(job.name) ?? nextSlot(this.cron(job.name), now),
        last: last.get(job.name),
        lastSuccessAt: successAt === undefined ? undefined : new Date(successAt / 1000),
        running: this.inFlight.has(job.name),
      };
    });
  }

  /** Runs a job now, outside its schedule (its `after` dependencies are not waited for). */
  trigger(name: string, options: { scheduledFor?: Date } = {}): Promise<RunOutcome> {
    const job = this.job(name);
    return this.track(this.execute(job, options.scheduledFor ?? new Date(), "manual"));
  }

  /** Re-runs a job over [from, to), one run per slot range, oldest first. */
  backfill(
    name: string,
    from: Date,
    to: Date,
    options: { continueOnError?: boolean; onProgress?: (p: BackfillProgress) => void } = {},
  ): Promise<BackfillOutcome> {
    const job = this.job(name);
    const ranges = backfillRanges(this.cron(name), from, to, this.maxBackfillRanges);
    return this.track(
      (async () => {
        const outcomes: RunOutcome[] = [];
        let stoppedEarly = false;
        options.onProgress?.({ done: 0, total: ranges.length, current: ranges[0] });
        for (const [i, range] of ranges.entries()) {
          if (this.shutdown.signal.aborted) {
            stoppedEarly = i < ranges.length;
            break;
          }
          const outcome = await this.execute(job, range.scheduledFor, "backfill", range);
          outcomes.push(outcome);
          options.onProgress?.({ done: i + 1, total: ranges.length, current: ranges[i + 1], last: outcome });
          if (outcome.status !== "succeeded" && !options.continueOnError) {
            stoppedEarly = i + 1 < ranges.length;
            break;
          }
        }
        const succeeded = outcomes.filter((o) => o.status === "succeeded").length;
        return {
          job: name,
          ranges: ranges.length,
          succeeded,
          failed: outcomes.length - succeeded,
          stoppedEarly,
          outcomes,
        };
      })(),
    );
  }

  // ---- internals ----

  private job(name: string): JobDefinition {
    const job = this.jobs.get(name);
    if (!job) {
      throw new UnknownJobError(
        `no job named ${JSON.stringify(name)}; registered: ${[...this.jobs.keys()].join(", ") || "none"}`,
      );
    }
    return job;
  }

  private cron(name: string): Cron {
    const cron = this.crons.get(name);
    if (!cron) throw new UnknownJobError(`no job named ${JSON.stringify(name)}`);
    return cron;
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
    const timer = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.log.error("scheduler housekeeping failed", { error: describeError(err) });
      }
    }, ms);
    this.timers.push(timer);
  }

  /** Sets one timer for the soonest slot over all jobs (at most a minute ahead, to follow the clock). */
  private arm(): void {
    if (this.state !== "started") return;
    const now = new Date();
    let soonest = Number.POSITIVE_INFINITY;
    for (const name of this.jobs.keys()) {
      let next = this.next.get(name);
      if (!next) {
        next = nextSlot(this.cron(name), now);
        if (next) this.next.set(name, next);
      }
      if (next) soonest = Math.min(soonest, next.getTime());
    }
    if (!Number.isFinite(soonest)) return;
    const delay = Math.min(Math.max(soonest - Date.now(), 0), 60_000);
    this.tickTimer = setTimeout(() => this.onTimer(), delay);
  }

  private onTimer(): void {
    const now = Date.now();
    const groups = new Map<number, JobDefinition[]>();
    for (const [name, job] of this.jobs) {
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
            return this.skip(
              job,
              slot,
              trigger,
              `dependency ${failed.job} ended ${failed.status} in this tick`,
            );
          return this.execute(job, slot, trigger);
        })(),
      );
    }
    return Promise.all(results.values());
  }

  private async catchUp(): Promise<void> {
    const now = new Date();
    const plan = new Map<number, JobDefinition[]>();
    for (const job of this.jobs.values()) {
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
    for (const request of this.history.claimRequests(this.ownerId, [...this.jobs.keys()])) {
      void this.track(this.serveRequest(request));
    }
  }

  private async serveRequest(request: RequestRecord): Promise<void> {
    try {
      if (request.kind === "run") {
        const outcome = await this.trigger(request.job);
        const ok = outcome.status === "succeeded";
        this.history.finishRequest(request.id, ok ? "done" : "failed", summarize(outcome));
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
        this.history.finishRequest(
          request.id,
          ok ? "done" : "failed",
          `${result.succeeded}/${result.ranges} ranges succeeded${result.stoppedEarly ? ", stopped at the first failure" : ""}`,
        );
      }
    } catch (err) {
      this.history.finishRequest(request.id, "failed", describeError(err));
    }
  }

  private skip(job: JobDefinition, slot: Date, trigger: RunTrigger, reason: string): RunOutcome {
    const id = this.history.recordSkipped({
      job: job.name,
      scheduledFor: slot.getTime() * 1000,
      trigger,
      owner: this.ownerId,
      reason,
    });
    this.log.warn("run skipped", { job: job.name, slot: slot.toISOString(), reason });
    return { job: job.name, status: "skipped", scheduledFor: slot, runIds: [id], attempts: 0, error: reason };
  }

  /** One logical run: the lock, then attempts with backoff until success, a permanent error or the limit. */
  private async execute(
    job: JobDefinition,
    slot: Date,
    trigger: RunTrigger,
    range?: { readonly from: Date; readonly to: Date },
  ): Promise<RunOutcome> {
    if (this.inFlight.has(job.name)) {
      return this.skip(job, slot, trigger, "the previous run is still in flight in this process");
    }
    const lock = this.history.tryLock(job.name, this.ownerId, this.liveness);
    if (!lock.acquired)
      return this.skip(job, slot, trigger, `the previous run is still running (${lock.holder})`);
    this.inFlight.add(job.name);
    let leftBehind: Promise<unknown> | undefined;
    const runIds: number[] = [];
    const maxAttempts = 1 + (job.retries ?? 0);
    try {
      for (let attempt = 1; ; attempt++) {
        const runId = this.history.startRun({
          job: job.name,
          scheduledFor: slot.getTime() * 1000,
          trigger,
          rangeFrom: range ? range.from.getTime() * 1000 : null,
          rangeTo: range ? range.to.getTime() * 1000 : null,
          attempt,
          owner: this.ownerId,
        });
        runIds.push(runId);
        const result = await this.attempt(job, runId, slot, range);
        const base = { job: job.name, scheduledFor: slot, runIds, attempts: attempt };
        if (result.kind === "succeeded") {
          const rows = validRows(result.value.rows);
          this.history.finishRun(runId, { status: "succeeded", rows, detail: result.value.detail });
          this.log.info("run succeeded", { job: job.name, slot: slot.toISOString(), attempt, rows });
          return { ...base, status: "succeeded", ...(rows === null ? {} : { rows }) };
        }
        const status: FinalStatus = result.kind === "timed_out" ? "timed_out" : "failed";
        this.history.finishRun(runId, { status, error: result.error });
        this.log.warn("run attempt did not succeed", {
          job: job.name,
          slot: slot.toISOString(),
          attempt,
          status,
          error: result.error,
        });
        if (result.stillRunning) {
          leftBehind = result.stillRunning;
          this.log.error("job ignored its abort signal; its lock is kept until it returns", {
            job: job.name,
          });
          return { ...base, status, error: result.error };
        }
        const retryable = !result.permanent && !this.shutdown.signal.aborted && attempt < maxAttempts;
        if (!retryable) return { ...base, status, error: result.error };
        const delay = retryDelayMs(this.retry, attempt, this.random);
        try {
          await sleep(delay, this.shutdown.signal);
        } catch {
          return { ...base, status, error: result.error };
        }
      }
    } finally {
      const release = (): void => {
        this.inFlight.delete(job.name);
        this.history.unlock(job.name, this.ownerId);
      };
      if (leftBehind) leftBehind.then(release, release);
      else release();
    }
  }

  private async attempt(
    job: JobDefinition,
    runId: number,
    slot: Date,
    range: { readonly from: Date; readonly to: Date } | undefined,
  ): Promise<
    | { kind: "succeeded"; value: JobResult }
    | { kind: "failed" | "timed_out"; error: string; permanent: boolean; stillRunning?: Promise<unknown> }
  > {
    const controller = new AbortController();
    const onShutdown = (): void => controller.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    if (this.shutdown.signal.aborted) onShutdown();
    const timer = setTimeout(
      () => controller.abort(new JobTimeoutError(`${job.name} exceeded its timeout of ${job.timeoutMs} ms`)),
      job.timeoutMs,
    );
    let lastProgressWrite = 0;
    const ctx: JobContext = {
      signal: controller.signal,
      scheduledFor: slot,
      ...(range ? { range } : {}),
      log: this.log.child(job.name),
      progress: (done, total, note) => {
        const now = Date.now();
        if (now - lastProgressWrite < 500 && done !== total) return;
        lastProgressWrite = now;
        try {
          this.history.progress(runId, done, total, note);
        } catch (err) {
          this.log.warn("could not record progress", { job: job.name, error: describeError(err) });
        }
      },
    };
    type Settled = { ok: true; value: JobResult } | { ok: false; error: unknown };
    const settled: Promise<Settled> = Promise.resolve()
      .then(() => job.run(ctx))
      .then(
        (value): Settled => ({ ok: true, value: value ?? {} }),
        (error: unknown): Settled => ({ ok: false, error }),
      );
    const aborted = new Promise<"aborted">((resolve) => {
      if (controller.signal.aborted) resolve("aborted");
      controller.signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    try {
      const first = await Promise.race([settled, aborted]);
      if (first !== "aborted") {
        if (first.ok) return { kind: "succeeded", value: first.value };
        return {
          kind: "failed",
          error: describeError(first.error),
          permanent: first.error instanceof PermanentJobError,
        };
      }
      const reason: unknown = controller.signal.reason;
      const timedOut = reason instanceof JobTimeoutError;
      const error = describeError(reason);
      const late = await Promise.race([
        settled,
        sleep(this.abortGraceMs).then(() => "still running" as const),
      ]);
      return {
        kind: timedOut ? "timed_out" : "failed",
        error,
        permanent: false,
        ...(late === "still running" ? { stillRunning: settled } : {}),
      };
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener("abort", onShutdown);
    }
  }
}

function validRows(rows: number | undefined): number | null {
  return typeof rows === "number" && Number.isSafeInteger(rows) && rows >= 0 ? rows : null;
}

function summarize(outcome: RunOutcome): string {
  const rows = outcome.rows === undefined ? "" : `, ${outcome.rows} rows`;
  const error = outcome.error ? `: ${outcome.error}` : "";
  return `${outcome.status} after ${outcome.attempts} attempt(s)${rows}${error}`;
}

/** Builds a scheduler over the run history in the state directory, with the configured policy. */
export function createScheduler(
  config: Pick<Config, "stateDir" | "scheduler">,
  jobs: readonly JobDefinition[],
  log: Logger,
  overrides: Partial<SchedulerOptions> = {},
): Scheduler {
  const history = overrides.history ?? RunHistory.open(historyPath(config.stateDir));
  return new Scheduler({
    jobs,
    history,
    log,
    retry: { baseMs: config.scheduler.retryBaseMs, capMs: config.scheduler.retryCapMs },
    catchUpLimit: config.scheduler.catchUpLimit,
    ...overrides,
  });
}
