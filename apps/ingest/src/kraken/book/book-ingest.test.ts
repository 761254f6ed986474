/**
 * The book through the real ingester into Kafka: the recorded 2023 capture (fixture simulator) arrives
 * as 510 verified messages with exact decimals; on the synthetic market a corrupted update is detected,
 * counted, resubscribed, and the new session's snapshot rebuilds a book that verifies again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrderBook } from "@tributary/shared/book/order-book";
import { loadConfig } from "@tributary/shared/config";
import type { BookDepth, BookMessage } from "@tributary/shared/contracts/book";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { type IngesterHandle, startIngester } from "../ingester/ingester.ts";
import { simulatorOptions } from "../ingester/testing.ts";

const config = loadConfig();
let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-book-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function topicsFor(name: string) {
  return {
    trades: uniqueName(`${name}_trades`),
    ticker: uniqueName(`${name}_ticker`),
    book: uniqueName(`${name}_book`),
  };
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** The ingester on BTC/USD's book at `depth`, reporting acknowledged book messages into `acked`. */
function bookIngester(
  sim: KrakenSimulator,
  topics: ReturnType<typeof topicsFor>,
  depth: BookDepth,
  acked: BookMessage[],
): Promise<IngesterHandle> {
  return startIngester(
    simulatorOptions(sim, config, topics, stateDir, { symbols: ["BTC/USD"], since: "now", book: { depth } }),
    { log: createLogger("book", "error"), onBooksAcked: (b) => acked.push(...b) },
  );
}

async function readBook(topic: string): Promise<BookMessage[]> {
  const records = await readTopic(createKafka(config.kafka, "book-check"), topic, uniqueName("book_reader"));
  expect(
    records.every((r) => r.key === (JSON.parse(r.value?.toString() ?? "{}") as BookMessage).symbol),
  ).toBe(true);
  return records
    .map((r) => JSON.parse(r.value?.toString() ?? "null") as BookMessage)
    .sort((a, b) => (a.session === b.session ? a.seq - b.seq : 0));
}

test("the recorded v2 capture, replayed through the ingester, lands in Kafka with all 510 checksums verified", async () => {
  const sim = await KrakenSimulator.start({ mode: "fixtures" });
  const topics = topicsFor("bookfix");
  const acked: BookMessage[] = [];
  let ingester: IngesterHandle | undefined;
  try {
    ingester = await bookIngester(sim, topics, 10, acked);
    await until("510 book messages", () => acked.length >= 510);
    await ingester.stop();
    const messages = await readBook(topics.book);
    expect(messages.length).toBe(510);
    expect(messages.map((m) => m.checksum_status)).toEqual(Array(510).fill("ok"));
    expect(messages.map((m) => m.seq)).toEqual([...Array(510).keys()]);
    expect(new Set(messages.map((m) => m.session)).size).toBe(1);
    expect(messages[0]).toMatchObject({
      v: 1,
      exchange: "KRAKEN",
      symbol: "BTC/USD",
      type: "snapshot",
      depth: 10,
      source: "ws",
    });
    // The recording printed 4.00000000 as 4.0: the contract carries the pair's precision again.
    expect(messages[0]?.bids[3]).toEqual(["29426.7", "4.00000000"]);
    expect(messages[1]).toMatchObject({
      type: "update",
      ts: "2023-07-30T15:29:58.343415Z",
      asks: [
        ["29431.1", "0.00000000"],
        ["29433.3", "0.80000000"],
        ["29430.6", "0.00100000"],
      ],
    });
    expect(await ingester.metrics.registry.value("tributary_ingest_book_messages_total")).toBe(510);
  } finally {
    await ingester?.stop();
    await sim.stop();
  }
}, 60_000);

test("a corrupted update is detected, counted and resubscribed; the new snapshot's book verifies and equals the simulator's", async () => {
  const sim = await KrakenSimulator.start({
    seed: 5,
    tradesPerSecond: 100,
    bookEventsPerSecond: 400,
    bookTruth: true,
  });
  const topics = topicsFor("bookbad");
  const acked: BookMessage[] = [];
  let ingester: IngesterHandle | undefined;
  try {
    ingester = await bookIngester(sim, topics, 25, acked);
    await until("100 verified updates", () => acked.filter((m) => m.checksum_status === "ok").length >= 100);
    sim.corruptNextBookUpdate();
    await until("the resubscription's snapshot", () =>
      acked.some((m) => m.type === "snapshot" && m.session !== acked[0]?.session),
    );
    const resumed = acked.length;
    await until("100 more updates", () => acked.length >= resumed + 100);
    await ingester.stop();

    const messages = await readBook(topics.book);
    const sessions = [...new Set(messages.map((m) => m.session))];
    expect(sessions.length).toBe(2);
    const [first = [], second = []] = sessions.map((s) => messages.filter((m) => m.session === s));
    const bad = first.findIndex((m) => m.checksum_status !== "ok");
    expect(first[bad]?.checksum_status).toBe("mismatch");
    // After the mismatch, until the new snapshot, nothing is verified: the gap is marked in the data.
    expect(first.slice(bad + 1).every((m) => m.checksum_status === "unverified")).toBe(true);
    expect(second[0]?.type).toBe("snapshot");
    expect(second.every((m) => m.checksum_status === "ok")).toBe(true);
    // The rebuilt session, applied message by message, is the simulator's own book at its last instant.
    const rebuilt = new OrderBook(25);
    for (const m of second) rebuilt.apply(m.bids, m.asks);
    const at = parseRfc3339Micros((second.at(-1) as BookMessage).ts);
    expect({ bids: rebuilt.bids.levels(), asks: rebuilt.asks.levels() }).toEqual(
      sim.bookAt("BTC/USD", at, 25) as never,
    );
    expect(await ingester.metrics.registry.value("tributary_ingest_book_checksum_mismatches_total")).toBe(1);
    expect(sim.snapshotStats().faults.bookCorrupted).toBe(1);
  } finally {
    await ingester?.stop();
    await sim.stop();
  }
}, 60_000);
