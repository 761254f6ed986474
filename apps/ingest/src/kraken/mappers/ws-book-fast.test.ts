/** The fast path for Kraken-layout book frames gives exactly what the general path gives, or declines. */
import { expect, test } from "bun:test";
import { viewUpdate, wsBookFrame } from "../../simulator/book.ts";
import { BookFlow } from "../../simulator/book-flow.ts";
import { loadBookCapture } from "../../simulator/fixtures.ts";
import { malformedWsFrame } from "../../simulator/malformed.ts";
import { createRng } from "../../simulator/rng.ts";
import { PairRegistry } from "../pairs.ts";
import { BTC_USD, DOGE_USD, ETH_USD } from "../test-pairs.ts";
import { mapWsBook } from "./ws-book.ts";
import { fastWsBook } from "./ws-book-fast.ts";
import { classifyWsFrame } from "./ws-frame.ts";

const registry = new PairRegistry([BTC_USD, ETH_USD, DOGE_USD]);

function general(text: string) {
  const f = classifyWsFrame(text);
  if (f.kind !== "data" || f.channel !== "book") throw new Error("not a book frame");
  return { type: f.type, mapped: mapWsBook(f.data, registry) };
}

/** Snapshots and updates of the simulator's book of each pair, at depths 10 and 100. */
function syntheticFrames(): string[] {
  const frames: string[] = [];
  for (const pair of [BTC_USD, ETH_USD, DOGE_USD]) {
    const flow = new BookFlow({
      symbol: pair.symbol,
      seed: 4,
      makerEventsPerSecond: 1000,
      medianQtyUnits: 5 * 10 ** pair.lotDecimals,
      levels: 200,
    });
    flow.open(10n ** BigInt(pair.priceDecimals + 3), 1_700_000_000_000_000_000n);
    for (const depth of [10, 100]) {
      const { bids, asks } = flow.book;
      frames.push(
        wsBookFrame(
          "snapshot",
          pair,
          bids.top(depth),
          asks.top(depth),
          flow.book.checksum(),
          flow.book.lastEventNs,
        ),
      );
      for (let i = 0; i < 300; i++) {
        const before = { bids: flow.book.bids.top(depth), asks: flow.book.asks.top(depth) };
        const event = flow.makerEvent();
        if (!event) continue;
        const u = viewUpdate(before, flow.book, depth);
        frames.push(wsBookFrame("update", pair, u.bids, u.asks, flow.book.checksum(), event.timeNs));
      }
    }
  }
  return frames;
}

test("recorded and synthetic Kraken book frames take the fast path and equal the general mapping", () => {
  const recorded = loadBookCapture();
  expect(recorded.length).toBe(510);
  for (const text of [...recorded, ...syntheticFrames()]) {
    const fast = fastWsBook(text, registry);
    expect(fast).toBeDefined();
    const slow = general(text);
    expect(slow.mapped.rejections).toEqual([]);
    expect(fast).toEqual({ type: slow.type, items: [...slow.mapped.records] });
  }
});

test("book frames with any bad value or another layout decline the fast path", () => {
  const ok =
    '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[{"price":29431.1,"qty":0.0},{"price":29433.3,"qty":0.8}],"checksum":3547452596,"timestamp":"2023-07-30T15:29:58.343415Z"}]}';
  expect(fastWsBook(ok, registry)?.items).toHaveLength(1);
  for (const bad of [
    ok.replace("29431.1", "29431.15"),
    ok.replace("0.8}", "-0.8}"),
    ok.replace("0.8}", "8e-1}"),
    ok.replace("BTC/USD", "SOL/USD"),
    ok.replace("2023-07-30T15", "2023-13-30T15"),
    ok.replace("3547452596", "4294967296"),
    ok.replace('"bids":[],', ""),
    ok.replace("{", "{ "),
    ok.replace("]}", "]} "),
    ok.replace("]}", '],"x":1}'),
    ok.replace('"qty":0.8}', '"qty":0.8},'),
    ok.replace('"checksum"', '"extra":1,"checksum"'),
    `${ok.slice(0, -2)},{"symbol":"BTC/USD"}]}`,
  ]) {
    expect(fastWsBook(bad, registry)).toBeUndefined();
  }
  const rng = createRng(2);
  for (let i = 0; i < 500; i++)
    expect(fastWsBook(malformedWsFrame(rng, "BTC/USD"), registry)).toBeUndefined();
});
