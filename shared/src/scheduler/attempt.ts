/**
 * One attempt of a job: its context (abort signal, slot, range, logger, progress), its timeout, and
 * what became of it. A timeout or shutdown aborts the signal; a job that does not return within the
 * grace period after that is reported still running, so its caller keeps the job's lock until it does.
 */
import type { Logger } from "../log.ts";
import type { Clock } from "./clock.ts";
import { type JobContext, type JobDefinition, type JobResult, PermanentJobError } from "./job.ts";

export class JobTimeoutError extends Error {
  override readonly name = "JobTimeoutError";
}

export type AttemptResult =
  | { readonly kind: "succeeded"; readonly value: JobResult }
  | {
      readonly kind: "failed" | "timed_out";
      readonly error: string;
      readonly permanent: boolean;
      /** Set when the job ignored its abort: settles when it finally returns. */
      readonly stillRunning?: Promise<unknown>;
    };

export interface AttemptOptions {
  readonly job: JobDefinition;
  readonly slot: Date;
  readonly range: { readonly from: Date; readonly to: Date } | undefined;
  readonly clock: Clock;
  /** Aborts the attempt when the scheduler stops. */
  readonly shutdown: AbortSignal;
  /** After an abort, how long the job may take to return before it is left behind. */
  readonly abortGraceMs: number;
  readonly log: Logger;
  readonly progress: JobContext["progress"];
}

export const describeError = (err: unknown): string => {
  if (err instanceof Error)
    return err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message;
  return String(err);
};

export async function runAttempt(options: AttemptOptions): Promise<AttemptResult> {
  const { job, clock, shutdown } = options;
  const controller = new AbortController();
  const onShutdown = (): void => controller.abort(shutdown.reason);
  shutdown.addEventListener("abort", onShutdown, { once: true });
  if (shutdown.aborted) onShutdown();
  const timer = clock.timer(
    () => controller.abort(new JobTimeoutError(`${job.name} exceeded its timeout of ${job.timeoutMs} ms`)),
    job.timeoutMs,
  );
  const ctx: JobContext = {
    signal: controller.signal,
    scheduledFor: options.slot,
    ...(options.range ? { range: options.range } : {}),
    log: options.log,
    progress: options.progress,
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
    const late = await Promise.race([
      settled,
      clock.sleep(options.abortGraceMs).then(() => "still running" as const),
    ]);
    return {
      kind: reason instanceof JobTimeoutError ? "timed_out" : "failed",
      error: describeError(reason),
      permanent: false,
      ...(late === "still running" ? { stillRunning: settled } : {}),
    };
  } finally {
    timer.cancel();
    shutdown.removeEventListener("abort", onShutdown);
  }
}
