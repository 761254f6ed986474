/**
 * Compares trades read back from Kafka with the simulator's ground truth: which trade_ids are missing,
 * which are extra, how many duplicates (expected after a crash; the lake dedups on trade_id), and whether
 * every delivered trade equals the emitted one field by field. One allowance, inherent to Kraken's REST
 * format: a trade delivered by REST may carry either microsecond its float time can stand for when that
 * float straddles a microsecond boundary (counted in `restTsAmbiguous`).
 */
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { restTimeRange, restTimeToken } from "../kraken/rest-time.ts";
import type { TruthTrade } from "./server.ts";

/** Whether `ts` is a microsecond inside the instants Kraken's REST float for `timeNs` stands for. */
function restFloatAllows(timeNs: string, ts: string): boolean {
  const { lo, hi } = restTimeRange(restTimeToken(BigInt(timeNs)));
  const micros = parseRfc3339Micros(ts);
  return micros >= lo / 1000n && micros <= hi / 1000n;
}

export interface SymbolComparison {
  readonly symbol: string;
  readonly truth: number;
  readonly delivered: number;
  readonly distinct: number;
  readonly duplicates: number;
  readonly missing: readonly number[];
  readonly extra: readonly number[];
  /** trade_ids whose price, qty, side, ord_type or ts differ from the truth. */
  readonly mismatched: readonly number[];
  /** REST-delivered trades whose ts is the other microsecond their float allows. */
  readonly restTsAmbiguous: number;
}

export interface TruthComparison {
  readonly ok: boolean;
  readonly symbols: readonly SymbolComparison[];
  readonly totalTruth: number;
  readonly totalDelivered: number;
  readonly totalMissing: number;
  readonly totalDuplicates: number;
}

/**
 * trade_ids REST Trades cannot page to with pages of `pageSize`: a page from just below an instant
 * holds at most `pageSize` fills of it, so fills past the first `pageSize` sharing one instant.
 */
export function restUnreachable(truth: readonly TruthTrade[], pageSize: number): number[] {
  const out: number[] = [];
  let run = 0;
  for (let i = 0; i < truth.length; i++) {
    run = i > 0 && truth[i]?.time_ns === truth[i - 1]?.time_ns ? run + 1 : 1;
    if (run > pageSize) out.push((truth[i] as TruthTrade).trade_id);
  }
  return out;
}

/** How many pages of a catch-up from `since=0` (paging by `last`) end inside a sweep. */
export function pageCutsInsideSweeps(truth: readonly TruthTrade[], pageSize: number): number {
  let cuts = 0;
  let start = 0;
  while (start < truth.length) {
    const end = Math.min(truth.length, start + pageSize) - 1;
    const lastNs = (truth[end] as TruthTrade).time_ns;
    if (truth[end + 1]?.time_ns === lastNs) cuts++;
    // The next page starts after the final trade's instant (since is exclusive).
    start = end + 1;
    while (truth[start]?.time_ns === lastNs) start++;
  }
  return cuts;
}

/** ids in inclusive ranges, e.g. from gap reports. */
export function idsOfRanges(ranges: readonly (readonly [number, number])[]): number[] {
  return ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

export function compareWithTruth(
  delivered: readonly TradeMessage[],
  truthBySymbol: ReadonlyMap<string, readonly TruthTrade[]>,
  /** ids the ingester reported as gaps, per symbol: not delivered, and not counted missing. */
  gaps: ReadonlyMap<string, ReadonlySet<number>> = new Map(),
): TruthComparison {
  const symbols: SymbolComparison[] = [];
  for (const [symbol, truth] of truthBySymbol) {
    const mine = delivered.filter((t) => t.symbol === symbol);
    const byId = new Map<number, TradeMessage>();
    for (const t of mine) byId.set(t.trade_id, t);
    const truthIds = new Set(truth.map((t) => t.trade_id));
    const reported = gaps.get(symbol) ?? new Set<number>();
    const missing = truth
      .filter((t) => !byId.has(t.trade_id) && !reported.has(t.trade_id))
      .map((t) => t.trade_id);
    const extra = [...byId.keys()].filter((id) => !truthIds.has(id));
    let restTsAmbiguous = 0;
    const mismatched = truth
      .filter((t) => {
        const d = byId.get(t.trade_id);
        if (!d) return false;
        if (d.price !== t.price || d.qty !== t.qty || d.side !== t.side || d.ord_type !== t.ord_type)
          return true;
        if (d.ts === t.ts) return false;
        if (d.source !== "rest" || !restFloatAllows(t.time_ns, d.ts)) return true;
        restTsAmbiguous++;
        return false;
      })
      .map((t) => t.trade_id);
    symbols.push({
      symbol,
      truth: truth.length,
      delivered: mine.length,
      distinct: byId.size,
      duplicates: mine.length - byId.size,
      missing,
      extra,
      mismatched,
      restTsAmbiguous,
    });
  }
  const totalMissing = symbols.reduce((s, x) => s + x.missing.length, 0);
  return {
    ok: symbols.every((s) => s.missing.length === 0 && s.extra.length === 0 && s.mismatched.length === 0),
    symbols,
    totalTruth: symbols.reduce((s, x) => s + x.truth, 0),
    totalDelivered: symbols.reduce((s, x) => s + x.delivered, 0),
    totalMissing,
    totalDuplicates: symbols.reduce((s, x) => s + x.duplicates, 0),
  };
}

/** A short summary for logs and test failures (first ids only). */
export function describeComparison(c: TruthComparison): string {
  return c.symbols
    .map(
      (s) =>
        `${s.symbol}: truth ${s.truth}, delivered ${s.delivered} (${s.distinct} distinct, ${s.duplicates} dup), missing ${s.missing.length}${s.missing.length ? ` [${s.missing.slice(0, 5).join(",")}…]` : ""}, extra ${s.extra.length}, mismatched ${s.mismatched.length}${s.mismatched.length ? ` [${s.mismatched.slice(0, 5).join(",")}…]` : ""}, REST ts ambiguous ${s.restTsAmbiguous}`,
    )
    .join("; ");
}
