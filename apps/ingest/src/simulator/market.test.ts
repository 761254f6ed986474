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

test("stops at totalTrades; ids are consecutive per symbol; times never go backwards and carry arbitrary ns digits", () => {
  const m = run(5);
  expect(m.totalEmitted).toBe(3000);
  expect(m.finished).toBe(true);
  for (const tape of m.tapes()) {
    const all = tape.all();
    expect(all.length).toBeGreaterThan(100);
    all.forEach((t, i) => {
      expect(t.tradeId).toBe(tape.firstTradeId + i);
      if (i > 0) expect(t.timeNs >= (all[i - 1]?.timeNs ?? 0n)).toBe(true);
      expect(t.qtyUnits > 0n).toBe(true);
    });
    // Kraken's engine keeps ns: the low digits are not rounded to 100 ns.
    expect(all.filter((t) => t.timeNs % 100n !== 0n).length).toBeGreaterThan(all.length / 2);
  }
});

test("sweep sizes: mostly single fills, a heavy tail, and giant sweeps of more than a REST page at one instant", () => {
  const m = new SyntheticMarket({
    seed: 13,
    tradesPerSecond: 1000,
    totalTrades: 60_000,
    startNs: 1_700_000_000_123_456_789n,
    sweeps: { giantProbability: 0.0005 },
  });
  m.advance(1_700_010_000_000_000_000n);
  const sizes: number[] = [];
  for (const tape of m.tapes()) {
    const all = tape.all();
    let run = 1;
    for (let i = 1; i <= all.length; i++) {
      if (i < all.length && all[i]?.timeNs === all[i - 1]?.timeNs) run++;
      else {
        sizes.push(run);
        run = 1;
      }
    }
  }
  const share = (p: (n: number) => boolean) => sizes.filter(p).length / sizes.length;
  expect(share((n) => n === 1)).toBeGreaterThan(0.8);
  expect(sizes.some((n) => n > 20 && n <= 1000)).toBe(true);
  expect(sizes.filter((n) => n > 1000).length).toBeGreaterThanOrEqual(2);
  // tradesPerSecond counts trades, not orders: 60,000 trades take about a minute of market time.
  const span = Number(((m.tapes()[0]?.all().at(-1)?.timeNs ?? 0n) - 1_700_000_000_123_456_789n) / 1_000_000n);
  expect(span).toBeGreaterThan(30_000);
  expect(span).toBeLessThan(120_000);
});

test("a market opened later is the same tape shifted in time", () => {
  const later = new SyntheticMarket({ seed: 5, tradesPerSecond: 1000, totalTrades: 3000, startNs: 0n });
  later.openAt(1_700_000_000_000_000_000n);
  later.advance(1_700_000_100_000_000_000n);
  const a = run(5).tape("BTC/USD")?.all() ?? [];
  const b = later.tape("BTC/USD")?.all() ?? [];
  expect(b.length).toBe(a.length);
  expect(b.map((t) => t.timeNs)).toEqual(a.map((t) => t.timeNs));
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
