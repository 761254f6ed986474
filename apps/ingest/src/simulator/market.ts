/**
 * The seeded synthetic market: several symbols, a tick-size random walk, Poisson arrivals of taker
 * orders at exact nanosecond instants (arbitrary low digits, as on Kraken's engine), sweeps whose
 * fills share one instant (mostly a few, a heavy tail, and rare giant sweeps of more than a REST page),
 * and log-normal sizes at lot precision (some rounded, so trailing zeros occur as on Kraken). Given a
 * seed and a start instant every trade, time included, is fixed. A taker order is one event with its
 * fills, so a later order book can decide the fills instead of the random walk.
 */
import { createRng, deriveSeed, type Rng } from "./rng.ts";
import { type TapeTrade, TradeTape } from "./tape.ts";

export interface SyntheticSymbol {
  /** WS v2 symbol, e.g. `BTC/USD`. */
  readonly symbol: string;
  /** AssetPairs key in the recorded catalog, e.g. `XXBTZUSD`. */
  readonly pairId: string;
  readonly priceDecimals: number;
  readonly lotDecimals: number;
  /** Starting price in units of 10^-priceDecimals. */
  readonly startPriceUnits: bigint;
  /** Typical move per order, in price units (ticks). */
  readonly stepUnits: number;
  /** Median size in base units (e.g. 0.01 BTC), used for the log-normal size distribution. */
  readonly medianQty: number;
  /** Share of the market's trade rate. */
  readonly weight: number;
  readonly firstTradeId: number;
}

/** Decimals as in the recorded 2021 AssetPairs catalog (XXBTZUSD 1/8, XETHZUSD 2/8, XDGUSD 7/8). */
export const DEFAULT_SYMBOLS: readonly SyntheticSymbol[] = [
  {
    symbol: "BTC/USD",
    pairId: "XXBTZUSD",
    priceDecimals: 1,
    lotDecimals: 8,
    startPriceUnits: 650_000n,
    stepUnits: 3,
    medianQty: 0.005,
    weight: 0.5,
    firstTradeId: 70_000_001,
  },
  {
    symbol: "ETH/USD",
    pairId: "XETHZUSD",
    priceDecimals: 2,
    lotDecimals: 8,
    startPriceUnits: 320_000n,
    stepUnits: 4,
    medianQty: 0.1,
    weight: 0.3,
    firstTradeId: 40_000_001,
  },
  {
    symbol: "DOGE/USD",
    pairId: "XDGUSD",
    priceDecimals: 7,
    lotDecimals: 8,
    startPriceUnits: 1_600_000n,
    stepUnits: 40,
    medianQty: 400,
    weight: 0.2,
    firstTradeId: 9_000_001,
  },
];

export interface MarketOptions {
  readonly seed: number;
  readonly symbols?: readonly SyntheticSymbol[];
  /** Mean trades per second over all symbols. */
  readonly tradesPerSecond: number;
  /** Stop after this many trades in total (undefined: run forever). */
  readonly totalTrades?: number;
  readonly sweeps?: Partial<SweepProfile>;
  /** Market time of the opening (epoch ns). */
  readonly startNs: bigint;
  /** Added to every symbol's first trade_id, so markets started later never reuse earlier ids. */
  readonly tradeIdOffset?: number;
}

/** How many fills a taker order makes; every fill of one order shares its instant. */
export interface SweepProfile {
  /** Probability that an order fills in several trades. */
  readonly probability: number;
  /** Tail of the sweep size: P(size > k) ≈ k^-tailAlpha (Pareto), capped at `maxFills`. */
  readonly tailAlpha: number;
  readonly maxFills: number;
  /** Probability that an order is a giant sweep of `giantFills` fills (more than a REST page holds). */
  readonly giantProbability: number;
  readonly giantFills: readonly [number, number];
}

export const DEFAULT_SWEEPS: SweepProfile = {
  probability: 0.15,
  tailAlpha: 1.4,
  maxFills: 400,
  giantProbability: 0.00002,
  giantFills: [1001, 1600],
};

export interface MarketEvent {
  readonly symbol: string;
  /** One taker order: fills share a timestamp and have consecutive trade_ids. */
  readonly trades: readonly TapeTrade[];
}

interface SymbolState {
  readonly spec: SyntheticSymbol;
  readonly rng: Rng;
  readonly tape: TradeTape;
  readonly meanGapNs: number;
  price: bigint;
  nextEventNs: bigint;
}

export class SyntheticMarket {
  private readonly states: SymbolState[];
  private emitted = 0;
  private readonly sweeps: SweepProfile;

  constructor(private opts: MarketOptions) {
    this.sweeps = { ...DEFAULT_SWEEPS, ...opts.sweeps };
    const meanBurst = meanFills(this.sweeps, opts.seed);
    const symbols = opts.symbols ?? DEFAULT_SYMBOLS;
    const totalWeight = symbols.reduce((s, x) => s + x.weight, 0);
    this.states = symbols.map((spec) => {
      const rng = createRng(deriveSeed(opts.seed, spec.symbol));
      const eventsPerSecond = (opts.tradesPerSecond * (spec.weight / totalWeight)) / meanBurst;
      const meanGapNs = 1e9 / eventsPerSecond;
      return {
        spec,
        rng,
        tape: new TradeTape(spec.symbol, spec.firstTradeId + (opts.tradeIdOffset ?? 0)),
        meanGapNs,
        price: spec.startPriceUnits,
        nextEventNs: opts.startNs + gapNs(rng, meanGapNs),
      };
    });
  }

  /**
   * Moves the opening to `startNs` (before the first trade only), for a market whose start is the
   * moment it opens: the trades stay the same, shifted in time.
   */
  openAt(startNs: bigint): void {
    if (this.emitted > 0) throw new Error("openAt after the first trade");
    for (const s of this.states) s.nextEventNs += startNs - this.opts.startNs;
    this.opts = { ...this.opts, startNs };
  }

  get totalEmitted(): number {
    return this.emitted;
  }

  get finished(): boolean {
    return this.opts.totalTrades !== undefined && this.emitted >= this.opts.totalTrades;
  }

  tapes(): readonly TradeTape[] {
    return this.states.map((s) => s.tape);
  }

  tape(symbol: string): TradeTape | undefined {
    return this.states.find((s) => s.spec.symbol === symbol)?.tape;
  }

  specs(): readonly SyntheticSymbol[] {
    return this.states.map((s) => s.spec);
  }

  /**
   * Generates every order due up to `nowNs` (at most `maxTrades` trades this call, so a slow consumer
   * lags instead of receiving one giant burst), appends them to the tapes, and returns them in time order.
   */
  advance(nowNs: bigint, maxTrades = Number.POSITIVE_INFINITY): MarketEvent[] {
    const events: MarketEvent[] = [];
    let budget = maxTrades;
    for (;;) {
      if (this.finished || budget <= 0) break;
      let due: SymbolState | undefined;
      for (const s of this.states)
        if (s.nextEventNs <= nowNs && (!due || s.nextEventNs < due.nextEventNs)) due = s;
      if (!due) break;
      const trades = this.order(due, this.remaining());
      budget -= trades.length;
      events.push({ symbol: due.spec.symbol, trades });
      due.nextEventNs += gapNs(due.rng, due.meanGapNs);
    }
    return events;
  }

  private remaining(): number {
    return this.opts.totalTrades === undefined
      ? Number.POSITIVE_INFINITY
      : this.opts.totalTrades - this.emitted;
  }

  private order(s: SymbolState, limit: number): TapeTrade[] {
    const { rng, spec } = s;
    const timeNs = s.nextEventNs;
    const move = BigInt(Math.round(rng.normal() * spec.stepUnits));
    const floor = spec.startPriceUnits / 10n;
    s.price = s.price + move < floor ? floor : s.price + move;
    const side = rng.chance(0.5) ? "buy" : "sell";
    const burst = fillsOf(this.sweeps, rng);
    const ordType = burst > 1 || rng.chance(0.45) ? "market" : "limit";
    // A sweep walks the book in the taker's direction, a tick or so per fill (deep books: less often).
    const walk = burst > 50 ? 0.05 : 0.6;
    const out: TapeTrade[] = [];
    for (let i = 0; i < Math.min(burst, limit); i++) {
      if (i > 0 && rng.chance(walk)) s.price += side === "buy" ? 1n : -1n;
      const trade: TapeTrade = {
        tradeId: s.tape.lastTradeId + 1,
        priceUnits: s.price,
        qtyUnits: this.size(s),
        side,
        ordType,
        timeNs,
      };
      s.tape.append(trade);
      out.push(trade);
      this.emitted++;
    }
    return out;
  }

  private size(s: SymbolState): bigint {
    const qty = s.spec.medianQty * Math.exp(1.1 * s.rng.normal());
    const scale = 10 ** s.spec.lotDecimals;
    // A quarter of orders use round sizes (e.g. 0.10000000) so trailing zeros appear, as on Kraken.
    const roundTo = s.rng.chance(0.25) ? 10 ** Math.max(0, s.spec.lotDecimals - 4) : 1;
    const units = Math.max(1, Math.round((qty * scale) / roundTo)) * roundTo;
    return BigInt(units);
  }
}

/** Exponential inter-arrival time in whole ns (at least 1, so orders of one symbol never share an instant). */
function gapNs(rng: Rng, meanNs: number): bigint {
  return BigInt(Math.max(1, Math.round(rng.exponential(meanNs))));
}

/** Fills of one taker order under `p`. */
function fillsOf(p: SweepProfile, rng: Rng): number {
  if (p.giantProbability > 0 && rng.chance(p.giantProbability)) {
    return rng.int(p.giantFills[0], p.giantFills[1]);
  }
  if (!rng.chance(p.probability)) return 1;
  const pareto = (1 - rng.next()) ** (-1 / p.tailAlpha);
  return Math.min(p.maxFills, 1 + Math.ceil(pareto));
}

/** Mean fills per order (sampled with its own seeded stream), so `tradesPerSecond` counts trades. */
function meanFills(p: SweepProfile, seed: number): number {
  const rng = createRng(deriveSeed(seed, "sweep-mean"));
  let sum = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) sum += fillsOf({ ...p, giantProbability: 0 }, rng);
  const giantMean = (p.giantFills[0] + p.giantFills[1]) / 2;
  return (sum / n) * (1 - p.giantProbability) + giantMean * p.giantProbability;
}
