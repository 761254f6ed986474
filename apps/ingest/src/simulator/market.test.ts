import { expect, test } from "bun:test";
import { SyntheticMarket } from "./market.ts";

const run = (seed: number) => {
  const m = new SyntheticMarket({
    seed,
    tradesPerSecond: 1000,
    totalTrades: 3000,
    startNs: 1_700_000_000_000_000_000n,
  });
  m.advance(1_700_000_100_000_000_000n);
  return m;
};

test("the same seed gives the same trades; another seed does not", () => {
  const strip = (m: SyntheticMarket) =>
    m
      .tapes()
      .flatMap((t) =>
        t.all().map((x) => [t.symbol, x.tradeId, x.priceUnits, x.qtyUnits, x.side, x.ordType, x.timeNs]),
      );
  expect(strip(run(1))).toEqual(strip(run(1)));
  expect(strip(run(1))).not.toEqual(strip(run(2)));
});

test("stops at totalTrades; ids are consecutive per symbol; times never go backwards and are multiples of 100 ns", () => {
  const m = run(5);
  expect(m.totalEmitted).toBe(3000);
  expect(m.finished).toBe(true);
  for (const tape of m.tapes()) {
    const all = tape.all();
    expect(all.length).toBeGreaterThan(100);
    all.forEach((t, i) => {
      expect(t.tradeId).toBe(tape.firstTradeId + i);
      expect(t.timeNs % 100n).toBe(0n);
      if (i > 0) expect(t.timeNs >= (all[i - 1]?.timeNs ?? 0n)).toBe(true);
      expect(t.qtyUnits > 0n).toBe(true);
    });
  }
});

test("bursts of several fills share one timestamp, and round sizes produce trailing zeros", () => {
  const tape = run(9).tape("BTC/USD");
  const all = tape?.all() ?? [];
  const sameTime = all.filter((t, i) => i > 0 && t.timeNs === all[i - 1]?.timeNs).length;
  expect(sameTime).toBeGreaterThan(all.length / 10);
  expect(all.some((t) => t.qtyUnits % 10_000n === 0n)).toBe(true);
});

test("REST since semantics: after(since) returns trades strictly later than since", () => {
  const tape = run(3).tape("ETH/USD");
  if (!tape) throw new Error("no tape");
  const pivot = tape.all()[100];
  if (!pivot) throw new Error("short tape");
  const after = tape.after(pivot.timeNs, 5);
  expect(after.every((t) => t.timeNs > pivot.timeNs)).toBe(true);
  const before = tape.after(pivot.timeNs - 1n, 1000);
  expect(before[0]?.timeNs).toBe(pivot.timeNs);
});

test("a trade_id offset shifts every symbol's sequence, so a later market never reuses earlier ids", () => {
  const base = run(7);
  const shifted = new SyntheticMarket({
    seed: 7,
    tradesPerSecond: 1000,
    totalTrades: 3000,
    startNs: 1_700_000_000_000_000_000n,
    tradeIdOffset: 1_000_000,
  });
  shifted.advance(1_700_000_100_000_000_000n);
  const firsts = (m: SyntheticMarket) => m.tapes().map((t) => t.all()[0]?.tradeId ?? 0);
  expect(firsts(shifted)).toEqual(firsts(base).map((id) => id + 1_000_000));
});
