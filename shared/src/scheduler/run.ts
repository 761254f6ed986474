/**
 * One logical run of a job: it takes the job's lock (no overlap in this process or any other), makes
 * attempts with capped exponential backoff until one succeeds, a permanent error or the retry limit,
 * and records each attempt in the run history with the job's log lines. A run that finds the job
 * busy is recorded skipped with the holder.
 */

import { type BackoffPolicy, backoffDelayMs } from "../backoff.ts";
import { type HealthCheck, StallWatch } from "../health.ts";
import type { Logger } from "../log.ts";
import { type AttemptResult, describeError, runAttempt } from "./attempt.ts";
import type { Clock } from "./clock.ts";
import type { OwnerLiveness, RunHistory, RunStatus, RunTrigger } from "./history.ts";
import type { JobContext, JobDefinition } from "./job.ts";

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

export interface RunnerOptions {
  /** A job whose runs keep failing this long is unhealthy (HEALTH_STALL_AFTER_S). */
  readonly stallAfterMs: number;
  readonly ownerId: string;
  readonly history: RunHistory;
  readonly log: Logger;
  readonly clock: Clock;
  readonly retry: BackoffPolicy;
  readonly random: () => number;
  readonly liveness: OwnerLiveness;
  readonly abortGraceMs: number;
  /** Aborts attempts and retry waits when the scheduler stops. */
  readonly shutdown: AbortSignal;
}

export class JobRunner {
  private readonly inFlight = new Set<string>();
  /** Per job: failing runs are work waiting; a success is progress. */
  private readonly watches = new Map<string, StallWatch>();

  constructor(private readonly o: RunnerOptions) {}

  /** One check per job that has failed in this process: unhealthy once it kept failing too long. */
  health(): Record<string, HealthCheck> {
    const checks: Record<string, HealthCheck> = {};
    for (const [job, watch] of this.watches) checks[`job:${job}`] = watch.check("its runs fail");
    return checks;
  }

  private settled(outcome: RunOutcome): RunOutcome {
    if (outcome.status === "skipped") return outcome;
    let watch = this.watches.get(outcome.job);
    if (!watch) {
      if (outcome.status === "succeeded") return outcome;
      watch = new StallWatch("successful run", this.o.stallAfterMs, () => this.o.clock.now());
      this.watches.set(outcome.job, watch);
    }
    if (outcome.status === "succeeded") watch.progressed();
    watch.waiting(outcome.status !== "succeeded");
    return outcome;
  }

  /** True while a run of the job is in flight in this process. */
  running(job: string): boolean {
    return this.inFlight.has(job);
  }

  skip(job: JobDefinition, slot: Date, trigger: RunTrigger, reason: string): RunOutcome {
    const id = this.o.history.recordSkipped({
      job: job.name,
      scheduledFor: slot.getTime() * 1000,
      trigger,
      owner: this.o.ownerId,
      reason,
    });
    this.o.log.warn("run skipped", { job: job.name, slot: slot.toISOString(), reason });
    return { job: job.name, status: "skipped", scheduledFor: slot, runIds: [id], attempts: 0, error: reason };
  }

  /** One logical run: the lock, then attempts with backoff until success, a permanent error or the limit. */
  async execute(
    job: JobDefinition,
    slot: Date,
    trigger: RunTrigger,
    range?: { readonly from: Date; readonly to: Date },
  ): Promise<RunOutcome> {
    const { history, ownerId, log } = this.o;
    if (this.inFlight.has(job.name)) {
      return this.skip(job, slot, trigger, "the previous run is still in flight in this process");
    }
    const lock = history.owners.tryLock(job.name, ownerId, this.o.liveness);
    if (!lock.acquired)
      return this.skip(job, slot, trigger, `the previous run is still running (${lock.holder})`);
    this.inFlight.add(job.name);
    let leftBehind: Promise<unknown> | undefined;
    const runIds: number[] = [];
    const maxAttempts = 1 + (job.retries ?? 0);
    try {
      for (let attempt = 1; ; attempt++) {
        const runId = history.startRun({
          job: job.name,
          scheduledFor: slot.getTime() * 1000,
          trigger,
          rangeFrom: range ? range.from.getTime() * 1000 : null,
          rangeTo: range ? range.to.getTime() * 1000 : null,
          attempt,
          owner: ownerId,
        });
        runIds.push(runId);
        const result = await this.attempt(job, runId, slot, range);
        const base = { job: job.name, scheduledFor: slot, runIds, attempts: attempt };
        if (result.kind === "succeeded") {
          const rows = validRows(result.value.rows);
          history.finishRun(runId, { status: "succeeded", rows, detail: result.value.detail });
          log.info("run succeeded", { job: job.name, slot: slot.toISOString(), attempt, rows });
          return this.settled({ ...base, status: "succeeded", ...(rows === null ? {} : { rows }) });
        }
        const status: FinalStatus = result.kind === "timed_out" ? "timed_out" : "failed";
        this.record(runId, "error", `attempt ${attempt} ${status}: ${result.error}`);
        history.finishRun(runId, { status, error: result.error });
        log.warn("run attempt did not succeed", {
          job: job.name,
          slot: slot.toISOString(),
          attempt,
          status,
          error: result.error,
        });
        if (result.stillRunning) {
          leftBehind = result.stillRunning;
          log.error("job ignored its abort signal; its lock is kept until it returns", { job: job.name });
          return this.settled({ ...base, status, error: result.error });
        }
        const retryable = !result.permanent && !this.o.shutdown.aborted && attempt < maxAttempts;
        if (!retryable) return this.settled({ ...base, status, error: result.error });
        const delay = backoffDelayMs({ ...this.o.retry, random: this.o.random }, attempt - 1);
        try {
          await this.o.clock.sleep(delay, this.o.shutdown);
        } catch {
          return this.settled({ ...base, status, error: result.error });
        }
      }
    } finally {
      const release = (): void => {
        this.inFlight.delete(job.name);
        history.owners.unlock(job.name, ownerId);
      };
      if (leftBehind) leftBehind.then(release, release);
      else release();
    }
  }

  private attempt(
    job: JobDefinition,
    runId: number,
    slot: Date,
    range: { readonly from: Date; readonly to: Date } | undefined,
  ): Promise<AttemptResult> {
    let lastProgressWrite = Number.NEGATIVE_INFINITY;
    const progress: JobContext["progress"] = (done, total, note) => {
      const now = this.o.clock.now();
      if (now - lastProgressWrite < 500 && done !== total) return;
      lastProgressWrite = now;
      try {
        this.o.history.progress(runId, done, total, note);
      } catch (err) {
        this.o.log.warn("could not record progress", { job: job.name, error: describeError(err) });
      }
    };
    return runAttempt({
      job,
      slot,
      range,
      clock: this.o.clock,
      shutdown: this.o.shutdown,
      abortGraceMs: this.o.abortGraceMs,
      log: recordingLogger(this.o.log.child(job.name), (level, line) => this.record(runId, level, line)),
      progress,
    });
  }

  /** Keeps a log line with the run; the history bounds how many. A failure to record is only logged. */
  private record(runId: number, level: string, line: string): void {
    try {
      this.o.history.appendLog(runId, level, line);
    } catch (err) {
      this.o.log.warn("could not record a run log line", { run: runId, error: describeError(err) });
    }
  }
}

/** A logger that also hands every line (message and fields) to `record`. */
export function recordingLogger(inner: Logger, record: (level: string, line: string) => void): Logger {
  const tee =
    (level: "debug" | "info" | "warn" | "error") =>
    (msg: string, fields?: Record<string, unknown>): void => {
      inner[level](msg, fields);
      record(level, fields && Object.keys(fields).length > 0 ? `${msg} ${safeJson(fields)}` : msg);
    };
  return {
    debug: tee("debug"),
    info: tee("info"),
    warn: tee("warn"),
    error: tee("error"),
    child: (component) => recordingLogger(inner.child(component), record),
  };
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) =>
      typeof v === "bigint" ? v.toString() : v instanceof Error ? `${v.name}: ${v.message}` : v,
    );
  } catch {
    return "(fields not serialisable)";
  }
}

function validRows(rows: number | undefined): number | null {
  return typeof rows === "number" && Number.isSafeInteger(rows) && rows >= 0 ? rows : null;
}
