/**
 * Reading a service's `/health` in tests: one answer, or polling until an answer matches. Every
 * service answers the same shape (`ok`, `checks`, and service-specific fields), 200 or 503.
 */

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthAnswer<B = Record<string, unknown>> {
  readonly status: number;
  readonly body: B & { readonly checks: Readonly<Record<string, HealthCheck>> };
}

export interface HealthPoll<B> {
  /** The last answer (undefined when the service never answered). */
  readonly last: HealthAnswer<B> | undefined;
  /** When the last answer came (epoch ms) and how long after the poll started. */
  readonly atMs: number;
  readonly afterMs: number;
}

/** One `GET <base>/health`, bounded in time; undefined when nothing answers (not serving yet, or gone). */
export async function readHealth<B = Record<string, unknown>>(
  base: string,
  timeoutMs = 2_000,
): Promise<HealthAnswer<B> | undefined> {
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as HealthAnswer<B>["body"] };
  } catch {
    return undefined;
  }
}

/**
 * Polls `<base>/health` every `everyMs` until `want(answer)` holds or `ms` have passed; returns the
 * last answer and when it came (the caller asserts on it: a poll that gave up returns what it saw).
 */
export async function pollHealth<B = Record<string, unknown>>(
  base: string,
  want: (answer: HealthAnswer<B>) => boolean,
  ms: number,
  everyMs = 100,
): Promise<HealthPoll<B>> {
  const started = Date.now();
  let last = await readHealth<B>(base);
  while (!(last && want(last)) && Date.now() - started < ms) {
    await Bun.sleep(everyMs);
    last = await readHealth<B>(base);
  }
  const atMs = Date.now();
  return { last, atMs, afterMs: atMs - started };
}

/** `pollHealth` for a status code; throws when the service never answered at all. */
export async function healthBecomes<B = Record<string, unknown>>(
  base: string,
  status: number,
  ms: number,
  everyMs = 100,
): Promise<HealthAnswer<B> & { readonly atMs: number; readonly afterMs: number }> {
  const poll = await pollHealth<B>(base, (a) => a.status === status, ms, everyMs);
  if (!poll.last) throw new Error(`${base}/health never answered in ${ms} ms`);
  return { ...poll.last, atMs: poll.atMs, afterMs: poll.afterMs };
}
