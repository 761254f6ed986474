/**
 * The query engine's admission: a fixed number of queries run at once and a bounded number wait,
 * each no longer than its own deadline. A slot is a disposable, so `using` hands it back whatever
 * way the query ends.
 */
import { QueryRefused } from "./guard.ts";

export interface Slot extends Disposable {
  release(): void;
}

export class QuerySlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly size: number,
    readonly maxWaiting = 32,
    private readonly now: () => number = Date.now,
  ) {}

  /** Slots in use and queries waiting, for tests and metrics. */
  get state(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Resolves with a slot, or rejects when none frees up before `deadlineMs` (epoch ms). */
  async acquire(deadlineMs: number): Promise<Slot> {
    if (this.running < this.size) {
      this.running++;
      return this.slot();
    }
    if (this.waiting.length >= this.maxWaiting)
      throw new QueryRefused("too many queries are waiting; try again shortly", "limit");
    const waitMs = deadlineMs - this.now();
    if (waitMs <= 0) throw waitedTooLong(0);
    // The slot is handed over by release(), so `running` already counts this query when it wakes.
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(waitedTooLong(waitMs));
      }, waitMs);
      this.waiting.push(go);
    });
    return this.slot();
  }

  private slot(): Slot {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
    return { release, [Symbol.dispose]: release };
  }
}

function waitedTooLong(ms: number): QueryRefused {
  return new QueryRefused(`the query waited ${ms} ms for a free slot and was not run`, "limit");
}
