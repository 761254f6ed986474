import { expect, test } from "bun:test";
import { Backoff, sleep } from "./backoff.ts";

test("delays grow exponentially up to the cap, with full jitter above the floor", () => {
  const top = new Backoff({ initialMs: 100, maxMs: 1000, floorMs: 10, random: () => 0.999999 });
  expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
  const bottom = new Backoff({ initialMs: 100, maxMs: 1000, floorMs: 10, random: () => 0 });
  expect(bottom.next()).toBe(10);
  expect(bottom.next(500)).toBe(500);
});

test("reset starts the sequence again", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  b.next();
  b.next();
  b.reset();
  expect(b.next()).toBe(99);
  expect(b.attempts).toBe(1);
});

test("sleep ends early when the signal aborts", async () => {
  const ac = new AbortController();
  const started = performance.now();
  setTimeout(() => ac.abort(), 20);
  await sleep(5_000, ac.signal);
  expect(performance.now() - started).toBeLessThan(1_000);
});
