import { expect, test } from "bun:test";
import { MarketClock } from "./clock.ts";

const S = 1_000_000_000n;

test("the market clock opens at its start and runs speed times faster than the wall clock", () => {
  let wall = 1_700_000_000n * S;
  const clock = new MarketClock({ startNs: 1_600_000_000n * S, speed: 600, wallNs: () => wall });
  expect(clock.nowNs()).toBe(1_600_000_000n * S);
  clock.open();
  wall += 2n * S;
  expect(clock.nowNs()).toBe(1_600_000_000n * S + 1200n * S);
});

test("a market opened in the past catches up with the wall clock and then follows it, never ahead", () => {
  let wall = 1_700_000_000n * S;
  const clock = new MarketClock({ startNs: wall - 3600n * S, speed: 1800, wallNs: () => wall });
  clock.open();
  wall += 1n * S;
  expect(clock.nowNs()).toBe(wall - 1801n * S);
  wall += 2n * S;
  expect(clock.nowNs()).toBe(wall);
  wall += 10n * S;
  expect(clock.nowNs()).toBe(wall);
});

test("without a start the market opens at the wall clock", () => {
  let wall = 1_700_000_000n * S;
  const clock = new MarketClock({ wallNs: () => wall });
  wall += 5n * S;
  clock.open();
  expect(clock.start).toBe(wall);
  wall += 3n * S;
  expect(clock.nowNs()).toBe(wall);
});
