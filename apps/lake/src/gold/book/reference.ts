/**
 * An independent recomputation of the order-book gold from a list of silver book events, in plain
 * TypeScript sharing no code with the SQL (nor with the shared OrderBook): each session replayed from
 * its snapshot with a Map of bigint units per side, sorted and cut to the depth after every message,
 * then the documented rules of docs/datasets.md applied second by second with exact integer
 * arithmetic (units of 10^-10). Tests compare it with what DuckDB wrote.
 */
import { fromUnits, toUnits } from "../market/reference.ts";

export interface ReferenceBookEvent {
  readonly symbol: string;
  readonly session: string;
  readonly seq: number;
  readonly type: "snapshot" | "update";
  readonly depth: number;
  /** Exchange time, epoch microseconds. */
  readonly tsMicros: bigint;
  readonly status: "ok" | "mismatch" | "unverified";
  readonly bids: readonly (readonly [string, string])[];
  readonly asks: readonly (readonly [string, string])[];
}

export const REFERENCE_BANDS = [10, 25, 50] as const;

export interface ReferenceBookSecond {
  readonly symbol: string;
  /** Start of the second, epoch microseconds. */
  readonly second: bigint;
  readonly session: string;
  readonly seq: number;
  readonly updates: number;
  readonly bidLevels: number;
  readonly askLevels: number;
  readonly bid: string | null;
  readonly bidQty: string | null;
  readonly ask: string | null;
  readonly askQty: string | null;
  readonly spread: string | null;
  readonly spreadBps: number | null;
  readonly mid: string | null;
  readonly microprice: string | null;
  readonly imbalance: number | null;
  /** Per band (10, 25, 50 bps): [bid depth, ask depth, depth imbalance]. */
  readonly bands: readonly (readonly [string | null, string | null, number | null])[];
}

type Side = Map<bigint, bigint>;
type Level = readonly [bigint, bigint];

/** Best first: bids high to low, asks low to high, cut to `depth`. */
function best(side: Side, bids: boolean, depth: number): Level[] {
  const levels = [...side.entries()].sort(([a], [b]) => (a === b ? 0 : a > b === bids ? -1 : 1));
  return levels.slice(0, depth);
}

const SECOND = 1_000_000n;

function halfUp(q: bigint, d: bigint): bigint {
  return 2n * (q % d) >= d ? q / d + 1n : q / d;
}

const ratio = (x: bigint, y: bigint): number | null =>
  x + y > 0n ? Number(fromUnits(x - y)) / Number(fromUnits(x + y)) : null;

function metrics(bids: readonly Level[], asks: readonly Level[]) {
  const [b, bq] = bids[0] ?? [];
  const [a, aq] = asks[0] ?? [];
  const text = (u: bigint | undefined): string | null => (u === undefined ? null : fromUnits(u));
  if (b === undefined || a === undefined || bq === undefined || aq === undefined) {
    return {
      bid: text(b),
      bidQty: text(bq),
      ask: text(a),
      askQty: text(aq),
      spread: null,
      spreadBps: null,
      mid: null,
      microprice: null,
      imbalance: null,
      bands: REFERENCE_BANDS.map(() => [null, null, null] as const),
    };
  }
  const twoMid = a + b;
  const bands = REFERENCE_BANDS.map((bps) => {
    const bidDepth = bids
      .filter(([p]) => p * 20_000n >= twoMid * BigInt(10_000 - bps))
      .reduce((s, [, q]) => s + q, 0n);
    const askDepth = asks
      .filter(([p]) => p * 20_000n <= twoMid * BigInt(10_000 + bps))
      .reduce((s, [, q]) => s + q, 0n);
    return [fromUnits(bidDepth), fromUnits(askDepth), ratio(bidDepth, askDepth)] as const;
  });
  return {
    bid: fromUnits(b),
    bidQty: fromUnits(bq),
    ask: fromUnits(a),
    askQty: fromUnits(aq),
    spread: fromUnits(a - b),
    spreadBps: (10_000 * Number(fromUnits(a - b))) / (Number(fromUnits(twoMid)) / 2),
    mid: fromUnits(halfUp(twoMid, 2n)),
    microprice: fromUnits(halfUp(b * aq + a * bq, bq + aq)),
    imbalance: ratio(bq, aq),
    bands,
  };
}

/** The known book of every second (docs/datasets.md, gold/book_1s), by symbol then second. */
export function referenceBookSeconds(events: readonly ReferenceBookEvent[]): ReferenceBookSecond[] {
  const sessions = new Map<string, ReferenceBookEvent[]>();
  for (const e of events) {
    const key = `${e.symbol}\u0000${e.session}`;
    const list = sessions.get(key);
    if (list) list.push(e);
    else sessions.set(key, [e]);
  }
  const candidates = new Map<string, { fromSec: bigint; row: ReferenceBookSecond }>();
  for (const list of sessions.values()) {
    list.sort((x, y) => x.seq - y.seq);
    const updates = new Map<bigint, number>();
    let eff = -1n;
    const secs = list.map((e) => {
      eff = e.tsMicros > eff ? e.tsMicros : eff;
      const s = eff / SECOND;
      updates.set(s, (updates.get(s) ?? 0) + 1);
      return s;
    });
    const bidSide: Side = new Map();
    const askSide: Side = new Map();
    let allOk = true;
    for (let k = 0; k < list.length; k++) {
      const e = list[k] as ReferenceBookEvent;
      if (e.seq !== k) break; // no snapshot, or a seq missing: nothing after it is known
      for (const [side, levels, isBid] of [
        [bidSide, e.bids, true],
        [askSide, e.asks, false],
      ] as const) {
        for (const [p, q] of levels) {
          const qty = toUnits(q);
          if (qty === 0n) side.delete(toUnits(p));
          else side.set(toUnits(p), qty);
        }
        const kept = best(side, isBid, e.depth);
        side.clear();
        for (const [p, q] of kept) side.set(p, q);
      }
      allOk &&= e.status === "ok";
      const next = list[k + 1];
      const from = secs[k] as bigint;
      const to = secs[k + 1];
      if (!allOk || next === undefined || next.seq !== k + 1 || next.status !== "ok" || to === undefined)
        continue;
      const bids = best(bidSide, true, e.depth);
      const asks = best(askSide, false, e.depth);
      const m = metrics(bids, asks);
      for (let s = from; s < to; s++) {
        const id = `${e.symbol}\u0000${s}`;
        const had = candidates.get(id);
        if (had && (had.fromSec > from || (had.fromSec === from && had.row.session > e.session))) continue;
        const row = {
          symbol: e.symbol,
          second: s * SECOND,
          session: e.session,
          seq: e.seq,
          updates: updates.get(s) ?? 0,
          bidLevels: bids.length,
          askLevels: asks.length,
          ...m,
        };
        candidates.set(id, { fromSec: from, row });
      }
    }
  }
  return [...candidates.values()]
    .map((c) => c.row)
    .sort((x, y) =>
      x.symbol !== y.symbol
        ? x.symbol < y.symbol
          ? -1
          : 1
        : x.second < y.second
          ? -1
          : x.second > y.second
            ? 1
            : 0,
    );
}

export interface ReferenceBookMinute {
  readonly symbol: string;
  readonly minute: bigint;
  readonly seconds: number;
  readonly updates: number;
  readonly bid: string | null;
  readonly ask: string | null;
  readonly mid: string | null;
  readonly microprice: string | null;
  readonly spreadBpsMean: number | null;
  readonly imbalanceMean: number | null;
  /** Per band: [mean bid depth, mean ask depth], exact, half up at 10 decimals. */
  readonly bandMeans: readonly (readonly [string | null, string | null])[];
}

/** Per-minute aggregates of the per-second rows (gold/book_1m). */
export function referenceBookMinutes(seconds: readonly ReferenceBookSecond[]): ReferenceBookMinute[] {
  const groups = new Map<string, ReferenceBookSecond[]>();
  for (const s of seconds) {
    const key = `${s.symbol}\u0000${s.second / 60_000_000n}`;
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  const mean = (xs: readonly (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const meanUnits = (xs: readonly (string | null)[]): string | null => {
    const v = xs.filter((x): x is string => x !== null).map(toUnits);
    return v.length
      ? fromUnits(
          halfUp(
            v.reduce((a, b) => a + b, 0n),
            BigInt(v.length),
          ),
        )
      : null;
  };
  return [...groups.values()].map((g) => {
    const last = g.at(-1) as ReferenceBookSecond;
    return {
      symbol: last.symbol,
      minute: (last.second / 60_000_000n) * 60_000_000n,
      seconds: g.length,
      updates: g.reduce((n, s) => n + s.updates, 0),
      bid: last.bid,
      ask: last.ask,
      mid: last.mid,
      microprice: last.microprice,
      spreadBpsMean: mean(g.map((s) => s.spreadBps)),
      imbalanceMean: mean(g.map((s) => s.imbalance)),
      bandMeans: REFERENCE_BANDS.map(
        (_, i) =>
          [
            meanUnits(g.map((s) => s.bands[i]?.[0] ?? null)),
            meanUnits(g.map((s) => s.bands[i]?.[1] ?? null)),
          ] as const,
      ),
    };
  });
}

export interface ReferenceBookQuality {
  readonly symbol: string;
  readonly hour: bigint;
  readonly updates: number;
  readonly snapshots: number;
  readonly checksumOk: number;
  readonly checksumMismatches: number;
  readonly unverified: number;
  readonly unverifiedIntervals: number;
  readonly knownSeconds: number;
}

/** Checksum health per symbol and hour of `ts` (gold/book_quality_hourly, without quarantine and freshness). */
export function referenceBookQuality(
  events: readonly ReferenceBookEvent[],
  seconds: readonly ReferenceBookSecond[],
): ReferenceBookQuality[] {
  const HOUR = 3_600_000_000n;
  const rows = new Map<string, { -readonly [K in keyof ReferenceBookQuality]: ReferenceBookQuality[K] }>();
  const row = (symbol: string, micros: bigint) => {
    const hour = (micros / HOUR) * HOUR;
    const key = `${symbol}\u0000${hour}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        symbol,
        hour,
        updates: 0,
        snapshots: 0,
        checksumOk: 0,
        checksumMismatches: 0,
        unverified: 0,
        unverifiedIntervals: 0,
        knownSeconds: 0,
      };
      rows.set(key, r);
    }
    return r;
  };
  const status = new Map(events.map((e) => [`${e.symbol}\u0000${e.session}\u0000${e.seq}`, e.status]));
  for (const e of events) {
    const r = row(e.symbol, e.tsMicros);
    r.updates++;
    if (e.type === "snapshot") r.snapshots++;
    if (e.status === "ok") r.checksumOk++;
    else if (e.status === "mismatch") r.checksumMismatches++;
    else r.unverified++;
    const before = status.get(`${e.symbol}\u0000${e.session}\u0000${e.seq - 1}`);
    if (e.status !== "ok" && before !== "mismatch" && before !== "unverified") r.unverifiedIntervals++;
  }
  for (const s of seconds) row(s.symbol, s.second).knownSeconds++;
  return [...rows.values()];
}
