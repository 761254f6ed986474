import { expect, test } from "bun:test";
import { Backoff, backoffDelayMs } from "./backoff.ts";

const policy = { initialMs: 100, maxMs: 1000 };

test("delays double from the initial ceiling up to the cap, each within [ceiling/2, ceiling]", () => {
  const top = new Backoff({ ...policy, random: () => 1 });
  expect([0, 1, 2, 3, 4, 5].map(() => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  const bottom = new Backoff({ ...policy, random: () => 0 });
  expect([0, 1, 2, 3, 4, 5].map(() => bottom.next())).toEqual([50, 100, 200, 400, 500, 500]);
  expect(backoffDelayMs({ ...policy, random: () => 0.5 }, 1000)).toBe(750);
});

test("a server's minimum (rate limit, Retry-After) wins, even above the cap", () => {
  const b = new Backoff({ ...policy, random: () => 0 });
  expect(b.next(70)).toBe(70);
  expect(b.next(30)).toBe(100);
  expect(b.next(5_000)).toBe(5_000);
});

test("reset starts the sequence again and attempts counts the delays handed out", () => {
  const b = new Backoff({ ...policy, random: () => 1 });
  b.next();
  b.next();
  expect(b.attempts).toBe(2);
  b.reset();
  expect(b.next()).toBe(100);
  expect(b.attempts).toBe(1);
});
