/**
 * The one retry backoff of every loop that retries (Kraken REST and WebSocket, Kafka deliveries, CDC
 * reconnects, job retries, lake recovery, S3 listings, supervised restarts): capped exponential with
 * "equal jitter". Delay n is uniform in [c/2, c] with c = min(maxMs, initialMs·2ⁿ): half of it stays
 * fixed so delays never collapse towards 0, the other half spreads retries of many clients apart.
 */

export interface BackoffPolicy {
  /** Ceiling of the first delay (ms); doubles per attempt. */
  readonly initialMs: number;
  /** No delay exceeds this (ms), except a server's own minimum (a rate-limit answer). */
  readonly maxMs: number;
  /** The jitter's draw in [0, 1); tests fix it. */
  readonly random?: () => number;
}

/**
 * The delay before retry `attempt` (0 = the first retry). `minimumMs` is what the other side asked for
 * (Retry-After, a rate limit): the delay is never shorter, even above `maxMs`.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, minimumMs = 0): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const draw = (policy.random ?? Math.random)();
  return Math.max(Math.round(ceiling / 2 + draw * (ceiling / 2)), minimumMs);
}

/** A retry loop's backoff state: `next()` grows the delay, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The next delay in ms (at least `minimumMs`). */
  next(minimumMs = 0): number {
    return backoffDelayMs(this.policy, this.attempt++, minimumMs);
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
