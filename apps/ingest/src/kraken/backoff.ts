/** Capped exponential backoff with full jitter: delay n is uniform in [0, min(cap, base·2ⁿ)], at least `floorMs`. */

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Lower bound of every delay, so a busy loop is impossible even with jitter near 0. */
  readonly floorMs?: number;
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, floorMs: 50 };

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The next delay in ms; grows until `maxMs`. */
  next(minimumMs = 0): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = Math.floor((this.opts.random ?? Math.random)() * ceiling);
    return Math.min(this.opts.maxMs, Math.max(jittered, this.opts.floorMs ?? 0, minimumMs));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
