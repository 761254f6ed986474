/**
 * Fault injection for the simulator: WebSocket drops and stalls, REST 429/5xx with HTML bodies, Kraken
 * rate-limit and service errors with HTTP 200, and malformed WS frames and REST bodies. Every injected
 * fault is counted, so tests can compare what the ingester saw with what was done to it.
 */
import { createRng, deriveSeed, type Rng } from "./rng.ts";

export type RestFailureKind =
  | "http429"
  | "http5xx"
  | "rate_limit"
  | "too_many_requests"
  | "service_unavailable"
  | "service_busy";

export const REST_FAILURE_KINDS: readonly RestFailureKind[] = [
  "http429",
  "http5xx",
  "rate_limit",
  "too_many_requests",
  "service_unavailable",
  "service_busy",
];

export interface FaultPlan {
  /** Drop every WebSocket connection abruptly every N ms (0: never). */
  readonly wsDropEveryMs: number;
  /** Drop every WebSocket connection after every N trades broadcast (0: never). */
  readonly wsDropEveryTrades: number;
  /** Every N ms (0: never), every connection goes silent (no data, no heartbeat) for `wsStallMs`. */
  readonly wsStallEveryMs: number;
  readonly wsStallMs: number;
  /** Probability that a public REST request fails with one of `restFailureKinds`. */
  readonly restFailureRate: number;
  readonly restFailureKinds: readonly RestFailureKind[];
  /** Probability, per trade frame sent, that a malformed frame follows it on the same connection. */
  readonly malformedWsRate: number;
  /** Probability that a REST Trades answer is replaced by a malformed HTTP 200 body. */
  readonly malformedRestRate: number;
  /** Stop injecting malformed input after this many frames and bodies in total. */
  readonly malformedLimit: number;
  /** Share of committed OHLC candles served with one field that disagrees with the tape. */
  readonly ohlcMismatchRate: number;
  /**
   * Every Nth book update that touches the checksum's window (top 10 per side) is sent corrupted: one
   * such level's qty off by one lot, the checksum true; 0: never.
   */
  readonly bookCorruptEvery: number;
  /**
   * Book unsubscribes, and subscribes for a symbol the connection already has, go unanswered (a request
   * lost on the exchange's side): the old subscription keeps streaming and no new snapshot comes. A new
   * connection's first book subscription is still answered.
   */
  readonly bookIgnoreResubscribe: boolean;
  /** No book update is sent (a book feed dead on the exchange's side); trades, tickers, heartbeats, acks and snapshots go on. */
  readonly bookSilent: boolean;
}

export const NO_FAULTS: FaultPlan = {
  wsDropEveryMs: 0,
  wsDropEveryTrades: 0,
  wsStallEveryMs: 0,
  wsStallMs: 0,
  restFailureRate: 0,
  restFailureKinds: REST_FAILURE_KINDS,
  malformedWsRate: 0,
  malformedRestRate: 0,
  malformedLimit: Number.POSITIVE_INFINITY,
  ohlcMismatchRate: 0,
  bookCorruptEvery: 0,
  bookIgnoreResubscribe: false,
  bookSilent: false,
};

export interface FaultCounts {
  wsDrops: number;
  wsStalls: number;
  restHttp429: number;
  restHttp5xx: number;
  restRateLimitErrors: number;
  restServiceErrors: number;
  malformedWs: number;
  malformedRest: number;
  bookCorrupted: number;
  /** Book (un)subscribe requests left unanswered by `bookIgnoreResubscribe`. */
  bookRequestsIgnored: number;
  /** Book updates withheld by `bookSilent`. */
  bookUpdatesWithheld: number;
}

export class FaultInjector {
  plan: FaultPlan;
  readonly counts: FaultCounts = {
    wsDrops: 0,
    wsStalls: 0,
    restHttp429: 0,
    restHttp5xx: 0,
    restRateLimitErrors: 0,
    restServiceErrors: 0,
    malformedWs: 0,
    malformedRest: 0,
    bookCorrupted: 0,
    bookRequestsIgnored: 0,
    bookUpdatesWithheld: 0,
  };
  private bookUpdates = 0;
  private corruptNext = false;
  readonly rng: Rng;
  /** The malformed frames and bodies actually sent, in order (the first 10,000), for tests to compare. */
  readonly malformedSent: string[] = [];

  constructor(seed: number, plan: Partial<FaultPlan> = {}) {
    this.plan = { ...NO_FAULTS, ...plan };
    this.rng = createRng(deriveSeed(seed, "faults"));
  }

  update(plan: Partial<FaultPlan>): void {
    this.plan = { ...this.plan, ...plan };
  }

  /** Decides whether this REST request fails, and how. */
  restFailure(): RestFailureKind | undefined {
    const { restFailureRate, restFailureKinds } = this.plan;
    if (restFailureRate <= 0 || restFailureKinds.length === 0 || !this.rng.chance(restFailureRate))
      return undefined;
    return this.rng.pick(restFailureKinds);
  }

  private malformedLeft(): boolean {
    return this.counts.malformedWs + this.counts.malformedRest < this.plan.malformedLimit;
  }

  wantMalformedWs(): boolean {
    return (
      this.plan.malformedWsRate > 0 && this.malformedLeft() && this.rng.chance(this.plan.malformedWsRate)
    );
  }

  /** Records one malformed frame or body that was sent. */
  sentMalformed(kind: "ws" | "rest", text: string): void {
    if (kind === "ws") this.counts.malformedWs++;
    else this.counts.malformedRest++;
    if (this.malformedSent.length < 10_000) this.malformedSent.push(text);
  }

  /** Corrupts the next book update sent, once. */
  corruptNextBookUpdate(): void {
    this.corruptNext = true;
  }

  /** Decides whether this book update is sent corrupted (and counts it). */
  wantBookCorruption(): boolean {
    this.bookUpdates++;
    const every = this.plan.bookCorruptEvery;
    if (!this.corruptNext && !(every > 0 && this.bookUpdates % every === 0)) return false;
    this.corruptNext = false;
    this.counts.bookCorrupted++;
    return true;
  }

  /** Whether this book (un)subscribe request goes unanswered (and counts it); `subscribed`: the connection has the symbol. */
  ignoresBookRequest(method: "subscribe" | "unsubscribe", subscribed: boolean): boolean {
    if (!this.plan.bookIgnoreResubscribe || (method === "subscribe" && !subscribed)) return false;
    this.counts.bookRequestsIgnored++;
    return true;
  }

  /** Whether this book update is withheld (and counts it). */
  withholdsBookUpdate(): boolean {
    if (!this.plan.bookSilent) return false;
    this.counts.bookUpdatesWithheld++;
    return true;
  }

  wantMalformedRest(): boolean {
    return (
      this.plan.malformedRestRate > 0 && this.malformedLeft() && this.rng.chance(this.plan.malformedRestRate)
    );
  }
}
