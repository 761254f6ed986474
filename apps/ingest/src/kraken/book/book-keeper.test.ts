import { describe, expect, test } from "bun:test";
import { OrderBook } from "@tributary/shared/book/order-book";
import type { BookMessage } from "@tributary/shared/contracts/book";
import { loadBookCapture } from "../../simulator/fixtures.ts";
import { PairRegistry } from "../pairs.ts";
import { BTC_USD } from "../test-pairs.ts";
import { BookKeeper } from "./book-keeper.ts";
import { replayBookFrames } from "./testing.ts";

const registry = new PairRegistry([BTC_USD]);
const RECEIVED = "2023-07-30T15:30:50.000000Z";

/** Feeds recorded frames through the real classifier, mapper and keeper. */
function replay(
  keeper: BookKeeper,
  frames: readonly string[],
): { messages: BookMessage[]; resubscribes: number } {
  const verdicts = replayBookFrames(keeper, frames, registry, RECEIVED);
  return {
    messages: verdicts.map((v) => v.message),
    resubscribes: verdicts.filter((v) => v.resubscribe).length,
  };
}

/** A snapshot frame of `book` as Kraken would send it after a resubscription (numbers as exact tokens). */
function snapshotFrame(book: OrderBook): string {
  const side = (levels: readonly (readonly [string, string])[]) =>
    levels.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(",");
  return `{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[${side(book.bids.levels())}],"asks":[${side(book.asks.levels())}],"checksum":${book.checksum()}}]}`;
}

describe("the recorded WS v2 book capture (BTC/USD, depth 10, 2023-07-30)", () => {
  const frames = loadBookCapture();

  test("every one of its 510 checksums verifies, with exact decimals at precision 1 / 8", () => {
    const keeper = new BookKeeper(10, "run");
    const { messages, resubscribes } = replay(keeper, frames);
    expect(messages.length).toBe(510);
    expect(messages.filter((m) => m.checksum_status === "ok").length).toBe(510);
    expect(resubscribes).toBe(0);
    // Python re-rendered 4.00000000 as 4.0 in the recording; the contract restores the wire's digits.
    expect(messages[0]?.bids[3]).toEqual(["29426.7", "4.00000000"]);
    expect(messages[0]).toMatchObject({ type: "snapshot", session: "run-1", seq: 0, ts: RECEIVED });
    expect(messages[1]).toMatchObject({ seq: 1, ts: "2023-07-30T15:29:58.343415Z", checksum: 3547452596 });
    expect(messages.at(-1)?.seq).toBe(509);
  });

  test("the snapshot's checksum text starts as Kraken's guide shows", () => {
    const keeper = new BookKeeper(10, "run");
    replay(keeper, frames.slice(0, 1));
    const book = keeper.book("BTC/USD") as OrderBook;
    expect(book.asks.checksumText().startsWith("294303825215653294304255637606")).toBe(true);
    expect(book.bids.checksumText().startsWith("2943021896753829429611621")).toBe(true);
    expect(book.checksum()).toBe(2785033588);
  });

  test("a corrupted update is detected, the book is rebuilt from the next snapshot, and the gap is marked", () => {
    const corruptAt = 200;
    // The true book just before the resubscription's snapshot, from an untouched replay.
    const resyncAt = 230;
    const truth = new BookKeeper(10, "truth");
    replay(truth, frames.slice(0, resyncAt));
    const fresh = snapshotFrame(truth.book("BTC/USD") as OrderBook);

    const original = frames[corruptAt] as string;
    const corrupted = original.replace(
      /"qty":(\d+)\.(\d)/,
      (_m, w: string, d: string) => `"qty":${w}.${d === "9" ? "8" : "9"}`,
    );
    expect(corrupted).not.toBe(original);
    const keeper = new BookKeeper(10, "run");
    const stream = [
      ...frames.slice(0, corruptAt),
      corrupted,
      ...frames.slice(corruptAt + 1, resyncAt),
      fresh,
      ...frames.slice(resyncAt),
    ];
    const { messages, resubscribes } = replay(keeper, stream);

    expect(resubscribes).toBe(1);
    const statuses = messages.map((m) => m.checksum_status);
    expect(statuses.slice(0, corruptAt)).toEqual(Array(corruptAt).fill("ok"));
    expect(statuses[corruptAt]).toBe("mismatch");
    expect(statuses.slice(corruptAt + 1, resyncAt)).toEqual(
      Array(resyncAt - corruptAt - 1).fill("unverified"),
    );
    // The rebuilt book verifies every later recorded checksum.
    expect(statuses.slice(resyncAt)).toEqual(Array(messages.length - resyncAt).fill("ok"));
    expect(messages[resyncAt]).toMatchObject({ type: "snapshot", session: "run-2", seq: 0 });
    expect(messages[corruptAt]).toMatchObject({ session: "run-1", seq: corruptAt });
  });
});

describe("OrderBook", () => {
  test("qty zero deletes, other quantities replace, and each side is truncated to the depth", () => {
    const book = new OrderBook(2);
    book.apply(
      [
        ["99.0", "1.00"],
        ["100.0", "2.00"],
        ["98.5", "3.00"],
      ],
      [
        ["101.0", "1.00"],
        ["1000.0", "5.00"],
      ],
    );
    expect(book.bids.levels()).toEqual([
      ["100.0", "2.00"],
      ["99.0", "1.00"],
    ]);
    book.apply(
      [
        ["100.0", "0.00"],
        ["99.0", "7.00"],
      ],
      [
        ["101.0", "0.00"],
        ["102.0", "1.50"],
      ],
    );
    expect(book.bids.levels()).toEqual([["99.0", "7.00"]]);
    expect(book.asks.levels()).toEqual([
      ["102.0", "1.50"],
      ["1000.0", "5.00"],
    ]);
  });
});
