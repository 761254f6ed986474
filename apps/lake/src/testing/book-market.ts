/**
 * A seeded synthetic order-book market as `kraken.book` messages, for gold book tests: each symbol
 * keeps a deep book (quantity changes, cancels, new levels, sweeps, silent cancels far from the top)
 * and publishes what Kraken's depth-limited feed shows of it: the levels that changed inside the top
 * `depth`, deletes for cancelled ones, and nothing for levels pushed out (the subscriber truncates).
 * It also plays the faults the gold must survive: a snapshot stamped later than the updates after it,
 * a checksum mismatch with unverified updates until a new session, and a WebSocket drop.
 */

import { seededRandom } from "@tributary/shared/random";
import { formatMicros } from "@tributary/shared/time";

export interface BookMarketOptions {
  readonly seed: number;
  readonly startMicros: bigint;
  readonly minutes: number;
  /** Mean gap between two messages of a symbol, ms. */
  readonly meanGapMs: number;
}

export interface BookMarketMessage {
  readonly tsMicros: bigint;
  readonly json: string;
}

interface SymbolSpec {
  readonly symbol: string;
  readonly priceDecimals: number;
  readonly mid: number;
  readonly depth: number;
}

const SPECS: readonly SymbolSpec[] = [
  { symbol: "BTC/USD", priceDecimals: 1, mid: 600_000, depth: 10 },
  { symbol: "ETH/USD", priceDecimals: 2, mid: 300_000, depth: 25 },
];

type Side = Map<number, number>;

const text = (units: number, decimals: number): string => {
  const s = String(units).padStart(decimals + 1, "0");
  return decimals === 0 ? s : `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
};

function top(side: Side, bids: boolean, n: number): [number, number][] {
  return [...side].sort(([a], [b]) => (bids ? b - a : a - b)).slice(0, n);
}

/** Messages of every symbol, in time order. */
export function bookMarketMessages(opts: BookMarketOptions): BookMarketMessage[] {
  const rand = seededRandom(opts.seed);
  const out: BookMarketMessage[] = [];
  const end = opts.startMicros + BigInt(opts.minutes) * 60_000_000n;
  for (const spec of SPECS) {
    const bids: Side = new Map();
    const asks: Side = new Map();
    for (let i = 1; i <= 60; i++) {
      bids.set(spec.mid - i * 3, 1 + Math.floor(rand() * 5e8));
      asks.set(spec.mid + i * 3, 1 + Math.floor(rand() * 5e8));
    }
    const level = (p: number, q: number): [string, string] => [text(p, spec.priceDecimals), text(q, 8)];
    let t = opts.startMicros;
    let session = 0;
    let seq = 0;
    let status: "ok" | "mismatch" | "unverified" = "ok";
    let unverifiedLeft = 0;
    const publish = (
      ts: bigint,
      type: "snapshot" | "update",
      b: [string, string][],
      a: [string, string][],
    ) => {
      out.push({
        tsMicros: ts,
        json: JSON.stringify({
          v: 1,
          exchange: "KRAKEN",
          symbol: spec.symbol,
          type,
          session: `${spec.symbol.replace("/", "")}-${session}`,
          seq,
          depth: spec.depth,
          bids: b,
          asks: a,
          checksum: 0,
          checksum_status: status,
          ts: formatMicros(ts),
          received_at: formatMicros(ts),
          source: "ws",
        }),
      });
    };
    const snapshot = () => {
      session++;
      seq = 0;
      status = "ok";
      // Stamped with its receive time, later than the exchange times of the next updates.
      publish(
        t + 150_000n,
        "snapshot",
        top(bids, true, spec.depth).map(([p, q]) => level(p, q)),
        top(asks, false, spec.depth).map(([p, q]) => level(p, q)),
      );
    };
    snapshot();
    const faults = { mismatchAt: opts.startMicros + 1_500_000_000n, dropAt: end - 900_000_000n };
    while (t < end) {
      t += BigInt(Math.floor(rand() * 2 * opts.meanGapMs * 1000)) + 1n;
      if (faults.dropAt > 0n && t >= faults.dropAt) {
        faults.dropAt = 0n; // the socket drops: 20 s without messages, then a new snapshot
        t += 20_000_000n;
        snapshot();
        continue;
      }
      const before = { b: top(bids, true, spec.depth), a: top(asks, false, spec.depth) };
      const isBid = rand() < 0.5;
      const side = isBid ? bids : asks;
      const dir = isBid ? -1 : 1;
      const levels = top(side, isBid, 60);
      const act = rand();
      if (act < 0.45) {
        const [p] = levels[Math.floor(rand() * Math.min(15, levels.length))] ?? [];
        if (p !== undefined) side.set(p, 1 + Math.floor(rand() * 5e8));
      } else if (act < 0.6) {
        const [p] = levels[Math.floor(rand() * Math.min(15, levels.length))] ?? [];
        if (p !== undefined) side.delete(p);
      } else if (act < 0.82) {
        const bestBid = top(bids, true, 1)[0]?.[0] ?? spec.mid - 1;
        const bestAsk = top(asks, false, 1)[0]?.[0] ?? spec.mid + 1;
        const gap = bestAsk - bestBid;
        const inside = 1 + Math.floor(rand() * (gap - 1));
        // A wide spread fills from inside; otherwise new orders rest around the best price.
        const p =
          gap > 8
            ? isBid
              ? bestBid + inside
              : bestAsk - inside
            : (isBid ? bestBid : bestAsk) - dir * (Math.floor(rand() * 11) - 6);
        if (isBid ? p < bestAsk : p > bestBid) side.set(p, 1 + Math.floor(rand() * 5e8));
      } else if (act < 0.92) {
        // A sweep takes the top levels; new orders rest at the far end.
        for (const [p] of levels.slice(0, 1 + Math.floor(rand() * 3))) side.delete(p);
        const far = levels.at(-1)?.[0] ?? spec.mid;
        for (let i = 1; i <= 3; i++) side.set(far + dir * i * 2, 1 + Math.floor(rand() * 5e8));
      } else {
        // Cancelled far from the top: the feed says nothing, a naive replay keeps a ghost.
        const deep = levels.slice(spec.depth);
        const [p] = deep[Math.floor(rand() * deep.length)] ?? [];
        if (p !== undefined) side.delete(p);
      }
      const after = { b: top(bids, true, spec.depth), a: top(asks, false, spec.depth) };
      const diff = (was: [number, number][], now: [number, number][], book: Side): [string, string][] => {
        const prev = new Map(was);
        const msg: [string, string][] = [];
        for (const [p, q] of now) if (prev.get(p) !== q) msg.push(level(p, q));
        const still = new Set(now.map(([p]) => p));
        for (const [p] of was) if (!still.has(p) && !book.has(p)) msg.push(level(p, 0));
        return msg;
      };
      const b = diff(before.b, after.b, bids);
      const a = diff(before.a, after.a, asks);
      if (b.length + a.length === 0) continue;
      if (rand() < 0.02 && b[0]) b.unshift([b[0][0], text(7, 8)]); // one price twice: the last wins
      seq++;
      if (t >= faults.mismatchAt && faults.mismatchAt > 0n) {
        faults.mismatchAt = 0n;
        status = "mismatch";
        unverifiedLeft = 4;
      } else if (status !== "ok" && unverifiedLeft-- > 0) status = "unverified";
      else if (status !== "ok") {
        snapshot(); // the resubscription's snapshot starts a new session
        continue;
      }
      publish(t, "update", b, a);
    }
  }
  return out.sort((x, y) => (x.tsMicros < y.tsMicros ? -1 : x.tsMicros > y.tsMicros ? 1 : 0));
}
