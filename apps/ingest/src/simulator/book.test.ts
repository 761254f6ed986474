/**
 * The simulator's book: served on the WS v2 `book` channel with checksums the ingester's independent
 * verifier accepts at every depth, equal at every instant to its own ground truth, consumed by its
 * trades, corrupted on demand, and in fixture mode the recorded 2023 capture replayed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { BookKeeper } from "../kraken/book/book-keeper.ts";
import { mapWsBook } from "../kraken/mappers/ws-book.ts";
import { classifyWsFrame } from "../kraken/mappers/ws-frame.ts";
import { PairRegistry } from "../kraken/pairs.ts";
import { BTC_USD, DOGE_USD, ETH_USD } from "../kraken/test-pairs.ts";
import { BookFlow } from "./book-flow.ts";
import { KrakenSimulator } from "./server.ts";
import type { TapeTrade } from "./tape.ts";

const registry = new PairRegistry([BTC_USD, ETH_USD, DOGE_USD]);

/** Subscribes books on one connection and feeds every book frame to a BookKeeper until `until`. */
async function bookSession(
  sim: KrakenSimulator,
  depth: number,
  symbols: string[],
  until: (frames: number) => boolean,
  onFrame?: (frames: number) => void,
): Promise<{ keeper: BookKeeper; statuses: string[]; lastTs: Map<string, string> }> {
  const keeper = new BookKeeper(depth as 10, "t");
  const statuses: string[] = [];
  const lastTs = new Map<string, string>();
  const ws = new WebSocket(sim.wsUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout after ${statuses.length} book frames`)),
        8_000,
      );
      ws.onopen = () => {
        ws.send(JSON.stringify({ method: "subscribe", params: { channel: "book", symbol: symbols, depth } }));
      };
      ws.onmessage = (e) => {
        const frame = classifyWsFrame(String(e.data));
        if (frame.kind !== "data" || frame.channel !== "book") return;
        for (const item of mapWsBook(frame.data, registry).records) {
          const verdict = keeper.apply(frame.type, item, "2026-01-01T00:00:00.000000Z");
          statuses.push(verdict.message.checksum_status);
          lastTs.set(item.symbol, verdict.message.ts);
        }
        onFrame?.(statuses.length);
        if (until(statuses.length)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  } finally {
    ws.close();
  }
  return { keeper, statuses, lastTs };
}

describe("synthetic books", () => {
  let sim: KrakenSimulator;
  beforeAll(async () => {
    sim = await KrakenSimulator.start({
      seed: 7,
      tradesPerSecond: 300,
      bookEventsPerSecond: 900,
      bookTruth: true,
    });
  });
  afterAll(() => sim.stop());

  for (const depth of [10, 100]) {
    test(`every update verifies at depth ${depth}, and the client's book equals the simulator's own`, async () => {
      const symbols = ["BTC/USD", "ETH/USD", "DOGE/USD"];
      const { keeper, statuses, lastTs } = await bookSession(sim, depth, symbols, (n) => n >= 600);
      expect(statuses.filter((s) => s !== "ok")).toEqual([]);
      for (const symbol of symbols) {
        const at = parseRfc3339Micros(lastTs.get(symbol) as string);
        const truth = sim.bookAt(symbol, at, depth);
        const book = keeper.book(symbol);
        expect(book?.bids.size).toBe(depth);
        expect({ bids: book?.bids.levels(), asks: book?.asks.levels() }).toEqual(truth as never);
      }
    });
  }

  test("a corrupted update is detected by the verifier", async () => {
    const { statuses } = await bookSession(
      sim,
      10,
      ["BTC/USD"],
      (n) => n >= 50,
      (n) => {
        if (n === 1) void fetch(`${sim.baseUrl}/_sim/book/corrupt`, { method: "POST" });
      },
    );
    expect(statuses[0]).toBe("ok");
    expect(statuses).toContain("mismatch");
    expect(sim.snapshotStats().faults.bookCorrupted).toBe(1);
  });
});

describe("the book flow", () => {
  test("trades consume the book: never crossed, and each order leaves its last fill price between bid and ask", () => {
    const flow = new BookFlow({
      symbol: "BTC/USD",
      seed: 3,
      makerEventsPerSecond: 50,
      medianQtyUnits: 500_000,
      levels: 40,
    });
    flow.open(650_000n, 0n);
    let price = 650_000n;
    for (let i = 1; i <= 2_000; i++) {
      while (flow.nextMakerNs < BigInt(i) * 10_000_000n) flow.makerEvent();
      price += BigInt((i * 7919) % 5) - 2n;
      const side = i % 3 === 0 ? "sell" : "buy";
      const fills: TapeTrade[] = [0, 1, 2].slice(0, 1 + (i % 3)).map((k) => ({
        tradeId: i * 3 + k,
        priceUnits: side === "buy" ? price + BigInt(k) : price - BigInt(k),
        qtyUnits: 1_000n + BigInt(k),
        side,
        ordType: "market",
        timeNs: BigInt(i) * 10_000_000n,
      }));
      flow.taker(fills);
      const bid = flow.book.bids.prices[0] as bigint;
      const ask = flow.book.asks.prices[0] as bigint;
      expect(bid < ask).toBe(true);
      const last = (fills.at(-1) as { priceUnits: bigint }).priceUnits;
      if (side === "buy") expect(bid < last && last <= ask).toBe(true);
      else expect(bid <= last && last < ask).toBe(true);
      expect(flow.book.bids.prices.length).toBeGreaterThanOrEqual(40);
    }
  });
});

describe("fixture mode", () => {
  test("a book subscription replays the recorded 2023 capture, and every checksum verifies", async () => {
    const sim = await KrakenSimulator.start({ mode: "fixtures" });
    try {
      const { statuses } = await bookSession(sim, 10, ["BTC/USD"], (n) => n >= 510);
      expect(statuses.length).toBe(510);
      expect(statuses.every((s) => s === "ok")).toBe(true);
    } finally {
      await sim.stop();
    }
  });
});
