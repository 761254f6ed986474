/**
 * Health that measures progress, the same way in every app: a `StallWatch` is told whether work is
 * waiting (lag to write, trades to acknowledge, WAL to confirm, a job failing) and when progress is
 * made (a commit with rows, an acknowledgement, a confirmed LSN, a successful run). It turns unhealthy
 * when work has waited longer than the configured time (HEALTH_STALL_AFTER_S) with no progress, so a
 * busy loop that achieves nothing (flushes that fail or commit nothing) cannot look healthy.
 */

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, HealthCheck>>;
}

export function healthReport(checks: Readonly<Record<string, HealthCheck>>): HealthReport {
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

export class StallWatch {
  private pendingSince: number | undefined;
  private lastProgress: number | undefined;

  constructor(
    /** What progress is, in a few words: `a commit with rows`, `a Kafka acknowledgement`. */
    readonly progress: string,
    readonly stallAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether work is waiting now; the stall clock starts when it begins to wait. */
  waiting(pending: boolean): this {
    if (!pending) this.pendingSince = undefined;
    else this.pendingSince ??= this.now();
    return this;
  }

  progressed(): void {
    this.lastProgress = this.now();
  }

  /** Milliseconds of waiting without progress (0 when nothing waits). */
  stalledMs(): number {
    if (this.pendingSince === undefined) return 0;
    return Math.max(0, this.now() - Math.max(this.pendingSince, this.lastProgress ?? 0));
  }

  /** The verdict; `waitingFor` says what waits (`lag 1200 records`). */
  check(waitingFor = "work waits"): HealthCheck {
    const stalled = this.stalledMs();
    const last =
      this.lastProgress === undefined ? "none yet" : `${seconds(this.now() - this.lastProgress)} ago`;
    if (this.pendingSince === undefined)
      return { ok: true, detail: `nothing waiting; last ${this.progress}: ${last}` };
    if (stalled <= this.stallAfterMs)
      return { ok: true, detail: `${waitingFor}; last ${this.progress}: ${last}` };
    return {
      ok: false,
      detail: `stalled: ${waitingFor} and no ${this.progress} for ${seconds(stalled)} (limit ${seconds(this.stallAfterMs)})`,
    };
  }
}
