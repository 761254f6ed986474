/** A normalized trade plus the exchange time in nanoseconds, which REST paging (`since`) needs. */
import type { TradeMessage } from "@tributary/shared/contracts/trade";

export interface SequencedTrade {
  readonly message: TradeMessage;
  /**
   * Exchange time in epoch nanoseconds: exact for REST (from the `time` token), the µs timestamp × 1000
   * for WS (a lower bound of the true ns time). Only used to build `since`; never written to Kafka.
   */
  readonly timeNs: bigint;
}
