/**
 * Silver book from bronze `kraken_book`: the recorded 2023 capture (its numbers rebuilt with
 * toFixed(precision), independently of the ingester) typed exactly, a repeated Kafka record kept
 * once, a malformed message quarantined, checkpoints at the snapshot and at each new minute whatever
 * the batching, and the book rebuilt from checkpoint + events equal to a naive replay at every event.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { rebuildBookAt } from "@tributary/shared/book/rebuild";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { type BronzeRecord, commitBronze } from "../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../testing/temp-lake.ts";
import { runSilverBook } from "./book.ts";

const CAPTURE = resolve(
  import.meta.dir,
  "../../../../../shared/fixtures/kraken/ws_v2_book_btcusd_depth10_capture_2023-07-30.jsonl",
);
const SNAPSHOT_TS = "2023-07-30T15:29:57.000000Z";

interface Frame {
  type: "snapshot" | "update";
  data: {
    bids: { price: number; qty: number }[];
    asks: { price: number; qty: number }[];
    checksum: number;
    timestamp?: string;
  }[];
}
const frames = readFileSync(CAPTURE, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Frame);

/** The capture as `kraken.book` messages: Python printed 4.0 for 4.00000000, toFixed restores it. */
function messages(session = "run-1"): string[] {
  return frames.map((f, seq) => {
    const d = f.data[0] as Frame["data"][number];
    const lv = (l: { price: number; qty: number }[]) => l.map((x) => [x.price.toFixed(1), x.qty.toFixed(8)]);
    const ts = d.timestamp ?? SNAPSHOT_TS;
    return JSON.stringify({
      v: 1,
      exchange: "KRAKEN",
      symbol: "BTC/USD",
      type: f.type,
      session,
      seq,
      depth: 10,
      bids: lv(d.bids),
      asks: lv(d.asks),
      checksum: d.checksum,
      checksum_status: "ok",
      ts,
      received_at: ts,
      source: "ws",
    });
  });
}

const record = (offset: number, value: string): BronzeRecord => ({
  topic: "kraken.book",
  partition: 0,
  offset,
  key: "BTC/USD",
  value,
  ingestedAt: parseRfc3339Micros("2023-07-30T15:31:00Z"),
});

/** A naive replay of the messages (a Map per side, sorted by Number) up to `atUs`: the reference book. */
function naiveBookAt(msgs: readonly string[], atUs: bigint): { bids: string[][]; asks: string[][] } {
  const bids = new Map<string, string>();
  const asks = new Map<string, string>();
  for (const text of msgs) {
    const m = JSON.parse(text) as { ts: string; bids: string[][]; asks: string[][] };
    if (parseRfc3339Micros(m.ts) > atUs) break;
    for (const [side, levels] of [
      [bids, m.bids],
      [asks, m.asks],
    ] as const)
      for (const [p = "", q = ""] of levels) Number(q) === 0 ? side.delete(p) : side.set(p, q);
    for (const [side, dir] of [
      [bids, -1],
      [asks, 1],
    ] as const) {
      const keep = [...side.keys()].sort((a, b) => dir * (Number(a) - Number(b))).slice(0, 10);
      for (const p of [...side.keys()]) if (!keep.includes(p)) side.delete(p);
    }
  }
  const scale = (s: string) => Number(s).toFixed(10);
  const sorted = (side: Map<string, string>, dir: number) =>
    [...side].sort((a, b) => dir * (Number(a[0]) - Number(b[0]))).map(([p, q]) => [scale(p), scale(q)]);
  return { bids: sorted(bids, -1), asks: sorted(asks, 1) };
}

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
