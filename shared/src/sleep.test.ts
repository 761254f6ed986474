import { expect, test } from "bun:test";
import { sleep, sleepUnlessAborted } from "./sleep.ts";

test("sleep resolves after the delay when nothing aborts", async () => {
  const started = performance.now();
  await sleep(30, new AbortController().signal);
  expect(performance.now() - started).toBeGreaterThanOrEqual(25);
});

test("sleep rejects with the signal's reason as soon as it aborts, and at once if already aborted", async () => {
  const ac = new AbortController();
  const started = performance.now();
  setTimeout(() => ac.abort(new Error("stopping")), 20);
  await expect(sleep(60_000, ac.signal)).rejects.toThrow("stopping");
  expect(performance.now() - started).toBeLessThan(5_000);
  await expect(sleep(60_000, ac.signal)).rejects.toThrow("stopping");
  await expect(sleep(10, AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
});

test("sleepUnlessAborted tells a loop whether to go on instead of rejecting", async () => {
  expect(await sleepUnlessAborted(1, new AbortController().signal)).toBe(true);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 10);
  expect(await sleepUnlessAborted(60_000, ac.signal)).toBe(false);
});
