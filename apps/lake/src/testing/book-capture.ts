/**
 * The recorded WS v2 book capture (BTC/USD, depth 10, 2023-07-30) as `kraken.book` messages and
 * bronze records, and a naive replay of them: the reference that the lake's silver book and the
 * notebooks' kit are checked against.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseRfc3339Micros } from "@tributary/shared/time";
import type { BronzeRecord } from "./bronze-fixture.ts";

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
export function bookCaptureMessages(session = "run-1"): string[] {
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

export const bookRecord = (offset: number, value: string): BronzeRecord => ({
  topic: "kraken.book",
  partition: 0,
  offset,
  key: "BTC/USD",
  value,
  ingestedAt: parseRfc3339Micros("2023-07-30T15:31:00Z"),
});

/** A naive replay of the messages (a Map per side, sorted by Number) up to `atUs`: the reference book. */
export function naiveBookAt(msgs: readonly string[], atUs: bigint): { bids: string[][]; asks: string[][] } {
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
