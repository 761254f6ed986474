/**
 * The simulator's market clock (epoch ns): it opens at a chosen instant (default: the wall clock when the
 * market opens) and runs `speed` times faster than the wall clock. A market that opens in the past never
 * overtakes the wall clock: once it has caught up it follows it. REST, WS and the tape all read this clock.
 */

export function wallNowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

export interface MarketClockOptions {
  /** Market time at the opening (epoch ns); default the wall clock at `open()`. */
  readonly startNs?: bigint;
  /** Market seconds per wall second (default 1). */
  readonly speed?: number;
  readonly wallNs?: () => bigint;
}

export class MarketClock {
  private readonly speed: number;
  private readonly wall: () => bigint;
  private startNs: bigint | undefined;
  private openedAtWallNs: bigint | undefined;

  constructor(opts: MarketClockOptions = {}) {
    this.speed = opts.speed ?? 1;
    if (!(this.speed > 0) || !Number.isFinite(this.speed))
      throw new RangeError(`speed ${opts.speed} is not > 0`);
    this.wall = opts.wallNs ?? wallNowNs;
    this.startNs = opts.startNs;
  }

  /** The market's opening instant, once known (given, or when `open()` was called). */
  get start(): bigint | undefined {
    return this.startNs;
  }

  get opened(): boolean {
    return this.openedAtWallNs !== undefined;
  }

  /** Starts the clock (idempotent). */
  open(): void {
    if (this.openedAtWallNs !== undefined) return;
    this.openedAtWallNs = this.wall();
    this.startNs ??= this.openedAtWallNs;
  }

  /** Market time now; before `open()`, the opening instant (or the wall clock if none was given). */
  nowNs(): bigint {
    const wall = this.wall();
    const start = this.startNs ?? wall;
    if (this.openedAtWallNs === undefined) return start;
    const elapsed = Number(wall - this.openedAtWallNs) * this.speed;
    const market = start + BigInt(Math.round(elapsed));
    return start <= this.openedAtWallNs && market > wall ? wall : market;
  }
}
