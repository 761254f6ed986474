/**
 * Compares trades read back from Kafka with the simulator's ground truth: which trade_ids are missing,
 * which are extra, how many duplicates (expected after a crash; the lake dedups on trade_id), and whether
 * every delivered trade equals the emitted one field by field.
 */
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import type { TruthTrade } from "./server.ts";

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
}

export interface TruthComparison {
  readonly ok: boolean;
  readonly symbols: readonly SymbolComparison[];
  readonly totalTruth: number;
  readonly totalDelivered: number;
  readonly totalMissing: number;
  readonly totalDuplicates: number;
}

export function compareWithTruth(
  delivered: readonly TradeMessage[],
  truthBySymbol: ReadonlyMap<string, readonly TruthTrade[]>,
): TruthComparison {
  const symbols: SymbolComparison[] = [];
  for (const [symbol, truth] of truthBySymbol) {
    const mine = delivered.filter((t) => t.symbol === symbol);
    const byId = new Map<number, TradeMessage>();
    for (const t of mine) byId.set(t.trade_id, t);
    const truthIds = new Set(truth.map((t) => t.trade_id));
    const missing = truth.filter((t) => !byId.has(t.trade_id)).map((t) => t.trade_id);
    const extra = [...byId.keys()].filter((id) => !truthIds.has(id));
    const mismatched = truth
      .filter((t) => {
        const d = byId.get(t.trade_id);
        return (
          d &&
          (d.price !== t.price ||
            d.qty !== t.qty ||
            d.side !== t.side ||
            d.ord_type !== t.ord_type ||
            d.ts !== t.ts)
        );
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
        `${s.symbol}: truth ${s.truth}, delivered ${s.delivered} (${s.distinct} distinct, ${s.duplicates} dup), missing ${s.missing.length}${s.missing.length ? ` [${s.missing.slice(0, 5).join(",")}…]` : ""}, extra ${s.extra.length}, mismatched ${s.mismatched.length}`,
    )
    .join("; ");
}
