/** A normalized trade plus the exchange time in nanoseconds, which REST paging (`since`) needs. */
import type { TradeMessage } from "@tributary/shared/contracts/trade";

export interface SequencedTrade {
  readonly message: TradeMessage;
  /**
   * A lower bound of the true exchange instant (epoch ns): the µs timestamp × 1000 for WS, the lowest
   * instant Kraken's float can stand for on REST, the exact instant when `last` is set. Never in Kafka.
   */
  readonly timeNs: bigint;
  /** Kraken's `last` when this trade ended a REST page: its exact instant, and the `since` after it. */
  readonly last?: string;
}

/** The REST `since` that resumes right after `t`: Kraken's `last`, else just below its earliest instant. */
export function resumeSince(t: SequencedTrade): string {
  return t.last ?? (t.timeNs > 0n ? t.timeNs - 1n : 0n).toString();
}
