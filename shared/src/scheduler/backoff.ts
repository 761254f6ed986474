/** Capped exponential backoff with full jitter, for job retries. */
export interface BackoffPolicy {
  /** Delay before the first retry (ms); doubles per retry. */
  readonly baseMs: number;
  /** No delay exceeds this (ms). */
  readonly capMs: number;
}

/**
 * Delay before retry number `retry` (1 = first retry): a random value in [ceiling/2, ceiling] where
 * ceiling = min(cap, base * 2^(retry-1)). Half the ceiling stays fixed so retries never collapse to 0.
 */
export function retryDelayMs(
  policy: BackoffPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(retry - 1, 0), 30);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
