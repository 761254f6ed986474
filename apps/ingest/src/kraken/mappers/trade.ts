/** A normalized trade plus the exchange time in nanoseconds, which REST paging (`since`) needs. */
import type { TradeMessage } from "@tributary/shared/contracts/trade";

export interface SequencedTrade {
  readonly message: TradeMessage;
  /**
   * A lower bound of the true exchange instant (epoch ns): the µs timestamp × 1000 for WS, the lowest
   * instant Kraken's float can stand for on REST, the exact instant when `last` is set. Never in Kafka.
   */
  readonly timeNs: bigint;
  /** Kraken's `last` when this trade ended a REST page: its exact instant. */
  readonly last?: string;
}

/**
 * The REST `since` that resumes after `t`: just below its earliest instant (`last` − 1 when exact).
 * `since` is exclusive, so the page repeats `t` (dropped by trade_id) and every fill sharing its
 * instant: resuming at `last` itself would skip the fills of a sweep the page boundary cut.
 */
export function resumeSince(t: SequencedTrade): string {
  const ns = t.last === undefined ? t.timeNs : BigInt(t.last);
  return (ns > 0n ? ns - 1n : 0n).toString();
}
