/**
 * The kit's bookAt over a lake the real silver job wrote from Kraken's recorded book capture: at
 * instants across the capture it equals a naive replay of the messages, exact decimals included; it
 * answers undefined before the first session and names what is missing on a lake without a book.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runSilverBook } from "@tributary/lake/silver/book";
import { bookCaptureMessages, bookRecord, naiveBookAt } from "@tributary/lake/testing/book-capture";
import { commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { bookAt, type Lake, loadConfig, openLake } from "./index.ts";

const msgs = bookCaptureMessages();
const tsOf = (i: number): bigint => parseRfc3339Micros((JSON.parse(msgs[i] as string) as { ts: string }).ts);
let temp: TempLake;
let lake: Lake;

beforeAll(async () => {
  temp = createTempLake();
  await commitBronze(
    temp.commitLog,
    msgs.map((m, i) => bookRecord(i, m)),
    { dataset: "kraken_book" },
  );
  await runSilverBook(temp.env);
  lake = await openLake(loadConfig({ LAKE_URI: temp.root }));
});
afterAll(() => {
  lake?.close();
  temp?.cleanup();
});

test("bookAt equals a naive replay of Kraken's recorded capture at instants across it", async () => {
  for (const i of [0, 1, 50, 255, 508]) {
    const book = await bookAt(lake, "BTC/USD", formatMicros(tsOf(i)));
    expect({ bids: book?.bids, asks: book?.asks }).toEqual(naiveBookAt(msgs, tsOf(i)) as never);
    expect(book?.complete).toBe(true);
  }
  const last = await bookAt(lake, "BTC/USD", tsOf(509));
  expect(last?.complete).toBe(false); // no successor yet: the lake cannot vouch for the book after it
  expect(await bookAt(lake, "BTC/USD", tsOf(0) - 1n)).toBeUndefined();
});

test("a lake without a silver book is refused with what is missing", async () => {
  const empty = createTempLake();
  const bare = await openLake(loadConfig({ LAKE_URI: empty.root }));
  try {
    await expect(bookAt(bare, "BTC/USD", "2023-07-30T15:30:00Z")).rejects.toThrow(
      "has no silver/kraken_book_events",
    );
  } finally {
    bare.close();
    empty.cleanup();
  }
});
