/** Kraken's REST float time: printing is the correctly rounded double, and a token's range holds exactly the instants that print as it. */
import { expect, test } from "bun:test";
import { createRng } from "../simulator/rng.ts";
import { nearestSeconds, restTimeRange, restTimeToken } from "./rest-time.ts";

const SEED = 20_251_111;

function randomInstants(n: number): bigint[] {
  const rng = createRng(SEED);
  // 2013 … 2033, arbitrary low digits.
  return Array.from({ length: n }, () => {
    const s = 1_380_000_000n + BigInt(Math.floor(rng.next() * 630_000_000));
    return s * 1_000_000_000n + BigInt(Math.floor(rng.next() * 1e9));
  });
}

test(`every instant lies inside the range of its printed token, and the range's ends print the same (seed ${SEED})`, () => {
  console.log(`seed ${SEED}`);
  let widest = 0n;
  for (const ns of randomInstants(20_000)) {
    const token = restTimeToken(ns);
    const { lo, hi } = restTimeRange(token);
    expect(ns >= lo && ns <= hi).toBe(true);
    if (hi - lo > widest) widest = hi - lo;
  }
  for (const ns of randomInstants(500)) {
    const token = restTimeToken(ns);
    const { lo, hi } = restTimeRange(token);
    expect([restTimeToken(lo), restTimeToken(hi)]).toEqual([token, token]);
    expect(restTimeToken(lo - 1n)).not.toBe(token);
    expect(restTimeToken(hi + 1n)).not.toBe(token);
  }
  // One float64 step of seconds around 2^30..2^31 is 2^-22 s ≈ 238 ns.
  expect(widest).toBeLessThanOrEqual(239n);
  expect(widest).toBeGreaterThan(200n);
});

test("printing picks the nearest double, not the double rounding of Number(ns) / 1e9", () => {
  const ns = 1_762_820_035_982_277_754n; // the recorded page's last
  expect(nearestSeconds(ns)).not.toBe(Number(ns) / 1e9);
  expect(restTimeToken(ns)).toBe("1762820035.9822779");
  expect(restTimeToken(1_000_000_000_000_000_000n)).toBe("1000000000.0");
});
