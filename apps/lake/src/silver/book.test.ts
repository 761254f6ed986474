/**
 * Silver book from bronze `kraken_book`: the recorded 2023 capture (its numbers rebuilt with
 * toFixed(precision), independently of the ingester) typed exactly, a repeated Kafka record kept
 * once, a malformed message quarantined, checkpoints at the snapshot and at each new minute whatever
 * the batching, and the book rebuilt from checkpoint + events equal to a naive replay at every event.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { rebuildBookAt } from "@tributary/shared/book/rebuild";
import { parseRfc3339Micros } from "@tributary/shared/time";
import {
  bookCaptureMessages as messages,
  naiveBookAt,
  bookRecord as record,
} from "../testing/book-capture.ts";
import { commitBronze } from "../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../testing/temp-lake.ts";
import { runSilverBook } from "./book.ts";

let lake: TempLake;
afterEach(() => lake?.cleanup());

describe("silver book", () => {
  test("types every message, keeps a repeated record once, quarantines a malformed one, checkpoints at the snapshot and each new minute", async () => {
    lake = createTempLake();
    const msgs = messages();
    const records = msgs.map((m, i) => record(i, m));
    records.push(record(msgs.length, msgs[5] as string)); // a retried batch: the same message again
    records.push(record(msgs.length + 1, (msgs[6] as string).replace('"depth":10', '"depth":7')));
    await commitBronze(lake.commitLog, records.slice(0, 300), { dataset: "kraken_book" });
    const first = await runSilverBook(lake.env);
    await commitBronze(lake.commitLog, records.slice(300), { dataset: "kraken_book" });
    const second = await runSilverBook(lake.env);
    expect(first.validRows + second.validRows).toBe(511);
    expect(second.quarantinedRows).toBe(1);

    const [count] = await lake.query(
      `SELECT count(*)::INT AS n, count(DISTINCT seq)::INT AS seqs, min(typeof(bids)) AS ty FROM ${lake.scan("silver", "kraken_book_events")}`,
    );
    expect(count).toEqual({ n: 510, seqs: 510, ty: "STRUCT(price DECIMAL(38,10), qty DECIMAL(38,10))[]" });
    const [q] = await lake.query(
      `SELECT reason FROM ${lake.scan("silver", "kraken_book_events_quarantine")}`,
    );
    expect(String(q?.reason)).toStartWith("depth is not 10, 25, 100, 500 or 1000");
    const [snap] = await lake.query(
      `SELECT bids[4].qty::VARCHAR AS q FROM ${lake.scan("silver", "kraken_book_events")} WHERE seq = 0`,
    );
    expect(snap?.q).toBe("4.0000000000");

    // The capture opens at 15:29:57 (snapshot) and crosses into 15:30 at its second update.
    const cps = await lake.query(
      `SELECT seq::INT AS seq, count(*)::INT AS levels FROM ${lake.scan("silver", "kraken_book_checkpoints")} GROUP BY seq ORDER BY seq`,
    );
    expect(cps).toEqual([
      { seq: 0, levels: 20 },
      { seq: 1, levels: 20 },
    ]);
  });

  test("a snapshot stamped after its first update (receive time vs exchange time) still checkpoints its session", async () => {
    lake = createTempLake();
    const msgs = messages();
    // seq 1 is at 15:29:58.343415: the snapshot arrives 157 ms later by the receiver's clock.
    msgs[0] = (msgs[0] as string).replaceAll("2023-07-30T15:29:57.000000Z", "2023-07-30T15:29:58.500000Z");
    await commitBronze(
      lake.commitLog,
      msgs.map((m, i) => record(i, m)),
      { dataset: "kraken_book" },
    );
    await runSilverBook(lake.env);
    const cps = await lake.query(
      `SELECT seq::INT AS seq, count(*)::INT AS levels FROM ${lake.scan("silver", "kraken_book_checkpoints")} GROUP BY seq ORDER BY seq`,
    );
    expect(cps).toEqual([
      { seq: 0, levels: 20 },
      { seq: 1, levels: 20 },
    ]);
  });

  test("the book rebuilt from checkpoint + events equals a naive replay of the messages at every event", async () => {
    lake = createTempLake();
    const msgs = messages();
    await commitBronze(
      lake.commitLog,
      msgs.map((m, i) => record(i, m)),
      { dataset: "kraken_book" },
    );
    await runSilverBook(lake.env);
    const rel = {
      events: lake.scan("silver", "kraken_book_events"),
      checkpoints: lake.scan("silver", "kraken_book_checkpoints"),
    };
    const instants = [0, 1, 2, 50, 255, 400, 508, 509].map((i) =>
      parseRfc3339Micros((JSON.parse(msgs[i] as string) as { ts: string }).ts),
    );
    for (const atUs of [...instants, (instants[3] as bigint) + 1n]) {
      const book = await rebuildBookAt(lake.query, rel, "BTC/USD", atUs);
      expect({ bids: book?.bids, asks: book?.asks }).toEqual(naiveBookAt(msgs, atUs) as never);
      // The last event has no successor yet: the lake cannot know the book after it.
      expect(book?.complete).toBe(atUs !== instants[7]);
    }
    expect(await rebuildBookAt(lake.query, rel, "BTC/USD", (instants[0] as bigint) - 1n)).toBeUndefined();
  });
});
