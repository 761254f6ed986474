/**
 * The group's Kafka offsets follow the lake. They are informative (lag tools, the demo's lake lag):
 * the commit log decides where a writer resumes. A commit the broker refuses (a rebalance, an expired
 * member) is not retried by the flush that made it, and when no record follows nothing would commit
 * again: the group would report as lag records the lake already holds. So the writer also catches up:
 * on its tick and before it leaves the group, every recovered partition whose lake position is ahead of
 * what Kafka acknowledged is committed at the lake position.
 *
 * A partition this writer kept across a group join may have been another writer's in between (this
 * one was dropped from the group and rejoined): its remembered position can be behind the lake, and
 * committing it would move Kafka back. Such a position is read again from the lake before it is
 * committed, until the partition is recovered again or a flush of this writer commits it.
 */
import type { Logger } from "@tributary/shared/log";
import { sleepUnlessAborted } from "@tributary/shared/sleep";
import { type PartitionState, tpKey } from "./assignment.ts";
import type { OffsetCommit } from "./commit-protocol.ts";

/** Catch-up runs at most this often from the tick. */
const CATCH_UP_EVERY_MS = 1_000;
/** Attempts at shutdown, a second apart: a rebalance under way usually settles within them. */
const SHUTDOWN_ATTEMPTS = 3;
/** The whole of the shutdown's catch-up, whatever the broker does. */
const SHUTDOWN_BOUND_MS = 10_000;

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

type Tp = Pick<PartitionState, "key" | "topic" | "partition" | "recovered" | "committedNext" | "epoch">;

export interface KafkaOffsetsDeps {
  /** Commits to the group's coordinator; rejects when the broker refuses. */
  readonly commit: (offsets: readonly OffsetCommit[]) => Promise<void>;
  /** The writer's assigned partitions now. */
  readonly partitions: () => Iterable<Tp>;
  /** The partition's position in the lake's commit log (tip + 1) as it is now. */
  readonly lakePosition: (topic: string, partition: number) => Promise<bigint>;
  readonly log: Logger;
  readonly now?: () => number;
  readonly retryDelayMs?: number;
  readonly shutdownBoundMs?: number;
}

const offsetOf = (st: Tp): OffsetCommit => ({
  topic: st.topic,
  partition: st.partition,
  offset: st.committedNext.toString(),
});

export class KafkaOffsets {
  /** Offset Kafka acknowledged, per partition key, since the last assignment. */
  private readonly acked = new Map<string, bigint>();
  /** Partitions kept across the last join, by their epoch then: read from the lake before a catch-up. */
  private readonly unverified = new Map<string, number>();
  /** Partitions whose remembered position the lake contradicted, by epoch: left alone until recovered. */
  private readonly contradicted = new Map<string, number>();
  private inFlight: Promise<unknown> | undefined;
  private catchingUp: Promise<void> | undefined;
  private lastCatchUp = Number.NEGATIVE_INFINITY;
  /** Aborted when the shutdown's catch-up ends: nothing commits after it. */
  private readonly closed = new AbortController();
  private readonly now: () => number;

  constructor(private readonly deps: KafkaOffsetsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Commits `offsets` after any commit in flight (so Kafka never sees an older offset land last) and
   * records what the broker acknowledged. Rejects when refused: the protocol's step 5 logs it.
   */
  commit(offsets: readonly OffsetCommit[]): Promise<void> {
    const run = (this.inFlight ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.deps.commit(offsets))
      .then(() => {
        for (const o of offsets) {
          const key = tpKey(o.topic, o.partition);
          const next = BigInt(o.offset);
          if (next > (this.acked.get(key) ?? -1n)) this.acked.set(key, next);
          // A flush's commit follows its own append to the lake: the position is current.
          this.unverified.delete(key);
          this.contradicted.delete(key);
        }
      });
    this.inFlight = run;
    const clear = (): void => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * A group join: what Kafka holds is unknown again (another writer may have moved it), and the
   * positions of partitions kept across it must be read from the lake before they are committed.
   * Called before the new assignment is applied.
   */
  reset(): void {
    this.acked.clear();
    this.unverified.clear();
    this.contradicted.clear();
    for (const st of this.deps.partitions()) if (st.recovered) this.unverified.set(st.key, st.epoch);
  }

  /** Recovered partitions whose lake position is ahead of Kafka's acknowledged offset. */
  behind(): OffsetCommit[] {
    return this.lagging().map(offsetOf);
  }

  private lagging(): Tp[] {
    const out: Tp[] = [];
    for (const st of this.deps.partitions()) {
      // An empty lake (0) commits nothing: the group keeps "no offset" rather than a made-up one.
      if (!st.recovered || st.committedNext <= 0n) continue;
      if (this.contradicted.get(st.key) === st.epoch) continue;
      if (st.committedNext > (this.acked.get(st.key) ?? -1n)) out.push(st);
    }
    return out;
  }

  /** From the tick: commits what lags, at most once a second and never beside another commit. */
  tick(): void {
    if (this.closed.signal.aborted || this.catchingUp !== undefined || this.inFlight !== undefined) return;
    if (this.now() - this.lastCatchUp < CATCH_UP_EVERY_MS) return;
    this.lastCatchUp = this.now();
    if (this.lagging().length === 0) return;
    this.catchingUp = this.catchUp()
      .catch((err) => this.deps.log.debug("offset catch-up refused; trying again", { error: err }))
      .finally(() => {
        this.catchingUp = undefined;
      });
  }

  /** Commits every lagging partition's position, reading kept partitions' positions from the lake first. */
  private async catchUp(): Promise<void> {
    const offsets: OffsetCommit[] = [];
    for (const st of this.lagging()) {
      const epoch = st.epoch;
      if (this.unverified.get(st.key) === epoch) {
        const remembered = st.committedNext;
        const lake = await this.deps.lakePosition(st.topic, st.partition);
        if (st.epoch !== epoch) continue; // recovered meanwhile: the next catch-up sees the new position
        if (lake !== remembered) {
          this.deps.log.info("partition's position moved while it was away; Kafka offset left as is", {
            partition: st.key,
            remembered: remembered.toString(),
            lake: lake.toString(),
          });
          this.contradicted.set(st.key, epoch);
          continue;
        }
        this.unverified.delete(st.key);
      }
      offsets.push(offsetOf(st));
    }
    if (offsets.length > 0) await this.commit(offsets);
  }

  /**
   * Before leaving the group: commits what lags, a few attempts a second apart, within a bound (a
   * broker that does not answer must not hold the shutdown). Never throws; what stays behind is
   * logged (the next writer's recovery commits it).
   */
  async flush(): Promise<boolean> {
    const bound = this.deps.shutdownBoundMs ?? SHUTDOWN_BOUND_MS;
    const timedOut = sleepUnlessAborted(bound, this.closed.signal).then(
      (): Outcome => ({ ok: false, error: `no answer within ${bound} ms` }),
    );
    try {
      const outcome = await Promise.race([this.attempts(), timedOut]);
      if (outcome.ok) return true;
      this.deps.log.warn("Kafka offsets stay behind the lake until the next writer commits them", {
        partitions: this.behind().map((o) => `${o.topic}/${o.partition}@${o.offset}`),
        error: outcome.error,
      });
      return false;
    } finally {
      // Ends the bound's timer, and attempts still running past the bound stop at their next step.
      this.closed.abort();
    }
  }

  /** Ok once nothing lags, else the last refusal after SHUTDOWN_ATTEMPTS. */
  private async attempts(): Promise<Outcome> {
    for (let attempt = 1; !this.closed.signal.aborted; attempt++) {
      await this.catchingUp;
      await this.inFlight?.catch(() => undefined);
      if (this.lagging().length === 0) return { ok: true };
      try {
        await this.catchUp();
      } catch (err) {
        if (attempt >= SHUTDOWN_ATTEMPTS) return { ok: false, error: err };
        await sleepUnlessAborted(this.deps.retryDelayMs ?? 1_000, this.closed.signal);
      }
    }
    return { ok: false, error: "stopped" };
  }
}
