/**
 * The one abortable sleep. It rejects with `signal.reason` as soon as the signal aborts (at once if
 * it already has), like `fetch` and Node's `timers/promises`: code after an aborted sleep never runs
 * by accident. A loop that should end quietly on abort catches it: `await sleep(ms, signal).catch(…)`.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Sleeps like `sleep`, but resolves `false` instead of rejecting when the signal aborts (loops that stop quietly). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return sleep(ms, signal).then(
    () => true,
    () => false,
  );
}
