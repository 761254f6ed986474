/**
 * The topic-partitions a bronze writer owns: applying the group's assignments, re-deriving each new
 * partition's position from the lake (recovery.ts) before fetching resumes there, and pausing fetches
 * for partitions still recovering or while the writer is over its memory budget.
 */
import { type BackoffPolicy, backoffDelayMs } from "@tributary/shared/backoff";
import type { CommitLog } from "@tributary/shared/lake/commit-log";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { sleep } from "@tributary/shared/sleep";
import type { Consumer } from "kafkajs";
import type { BronzeDataset } from "./datasets.ts";
import type { PartitionSnapshot } from "./metrics.ts";
import { reconcilePartitions } from "./recovery.ts";

/** Partition recovery retries back off from 200 ms to 30 s. */
const RECOVERY_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000 };

export const tpKey = (topic: string, partition: number): string => `${topic}/${partition}`;

export interface PartitionState {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly ds: BronzeDataset;
  /** Bumped whenever buffered rows of the partition become invalid (revoked, resync). */
  epoch: number;
  recovered: boolean;
  /** Next offset to accept from Kafka. */
  next: number;
  /** `first_offset` of the partition's next commit record. */
  chainNext: bigint;
  /** Lake tip + 1 as last seen committed. */
  committedNext: bigint;
  highWatermark: number;
  rowsTotal: number;
  filesTotal: number;
  lastCommitAt: number;
  samples: Array<[number, number]>;
  fetchPaused: boolean;
}

export interface AssignmentDeps {
  readonly consumer: Pick<Consumer, "seek" | "pause" | "resume">;
  readonly store: LakeStore;
  readonly commits: CommitLog;
  readonly log: Logger;
  /** The dataset of each consumed topic. */
  readonly datasets: ReadonlyMap<string, BronzeDataset>;
  /** The writer is stopping: no recovery starts. */
  readonly stopping: () => boolean;
  /** The writer is over its memory budget: every partition's fetching pauses. */
  readonly paused: () => boolean;
}

export class AssignedPartitions {
  private readonly byKey = new Map<string, PartitionState>();

  constructor(private readonly deps: AssignmentDeps) {}

  get(key: string): PartitionState | undefined {
    return this.byKey.get(key);
  }

  values(): IterableIterator<PartitionState> {
    return this.byKey.values();
  }

  /** Applies a group assignment: revoked partitions are dropped, new ones recovered from the lake. */
  assign(assignment: Record<string, number[]>): void {
    const wanted = new Set<string>();
    for (const [topic, ps] of Object.entries(assignment)) for (const p of ps) wanted.add(tpKey(topic, p));
    for (const [k, st] of this.byKey) {
      if (!wanted.has(k)) {
        st.epoch += 1; // buffered rows of a revoked partition are never committed by us
        this.byKey.delete(k);
      }
    }
    const added = new Map<string, PartitionState[]>();
    for (const [topic, ps] of Object.entries(assignment)) {
      const ds = this.deps.datasets.get(topic);
      if (ds === undefined) continue;
      for (const partition of ps) {
        const k = tpKey(topic, partition);
        if (this.byKey.has(k)) continue;
        const st: PartitionState = {
          key: k,
          topic,
          partition,
          ds,
          epoch: 0,
          recovered: false,
          next: 0,
          chainNext: 0n,
          committedNext: -1n,
          highWatermark: -1,
          rowsTotal: 0,
          filesTotal: 0,
          lastCommitAt: 0,
          samples: [],
          fetchPaused: false,
        };
        this.byKey.set(k, st);
        added.set(topic, [...(added.get(topic) ?? []), st]);
      }
    }
    this.deps.log.info("assignment", {
      partitions: [...wanted],
      added: [...added.values()].flat().map((s) => s.key),
    });
    for (const [topic, sts] of added) this.recover(topic, sts, 0, 0);
  }

  /** Re-derives the partitions' position from the lake, then seeks Kafka there. Never throws. */
  recover(topic: string, sts: readonly PartitionState[], delayMs: number, attempt: number): void {
    for (const st of sts) {
      st.epoch += 1;
      st.recovered = false;
    }
    this.syncPause();
    const epochs = sts.map((s) => s.epoch);
    const current = (): PartitionState[] =>
      sts.filter((s, i) => this.byKey.get(s.key) === s && s.epoch === epochs[i]);
    void (async () => {
      if (delayMs > 0) await sleep(delayMs);
      const live = current();
      if (live.length === 0 || this.deps.stopping()) return;
      const ds = live[0]?.ds as BronzeDataset;
      try {
        const result = await reconcilePartitions(
          this.deps.store,
          this.deps.commits,
          ds,
          topic,
          live.map((s) => s.partition),
          this.deps.log,
        );
        for (const st of current()) {
          const resume = result.resume.get(st.partition) ?? 0n;
          st.next = safeOffset(resume);
          st.chainNext = resume;
          st.committedNext = resume;
          this.deps.consumer.seek({ topic, partition: st.partition, offset: resume.toString() });
          st.recovered = true;
          this.deps.log.info("partition resumes from the lake", {
            topic,
            partition: st.partition,
            offset: resume.toString(),
          });
        }
        this.syncPause();
      } catch (err) {
        const backoff = backoffDelayMs(RECOVERY_BACKOFF, attempt);
        this.deps.log.warn("partition recovery failed, retrying", {
          topic,
          error: err,
          backoffMs: Math.round(backoff),
        });
        const again = current();
        if (again.length > 0) this.recover(topic, again, backoff, attempt + 1);
      }
    })();
  }

  /** Fetching is paused for partitions still recovering, and for all while over budget. */
  syncPause(): void {
    for (const st of this.byKey.values()) {
      const want = this.deps.paused() || !st.recovered;
      if (want === st.fetchPaused) continue;
      try {
        if (want) this.deps.consumer.pause([{ topic: st.topic, partitions: [st.partition] }]);
        else this.deps.consumer.resume([{ topic: st.topic, partitions: [st.partition] }]);
        st.fetchPaused = want;
      } catch (err) {
        this.deps.log.debug("pause/resume refused", { partition: st.key, error: err });
      }
    }
  }

  /** Periodic cleanup of staging garbage for the partitions this writer owns. */
  async sweep(): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const st of this.byKey.values())
      if (st.recovered) byTopic.set(st.topic, [...(byTopic.get(st.topic) ?? []), st]);
    for (const [topic, sts] of byTopic) {
      const ds = sts[0]?.ds as BronzeDataset;
      await reconcilePartitions(
        this.deps.store,
        this.deps.commits,
        ds,
        topic,
        sts.map((s) => s.partition),
        this.deps.log,
        new Map(sts.map((s) => [s.partition, s.chainNext])),
      );
    }
  }

  /** Per-partition figures for /metrics and /health; rates over the last 10 s of commits. */
  snapshot(now: number): PartitionSnapshot[] {
    return [...this.byKey.values()]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((st) => {
        const old = st.samples.find(([t]) => now - t <= 10_000) ?? st.samples.at(-1);
        const span = old === undefined ? 0 : (now - old[0]) / 1000;
        const committed = Number(st.committedNext);
        return {
          topic: st.topic,
          partition: st.partition,
          dataset: st.ds.name,
          committedNext: committed,
          highWatermark: st.highWatermark,
          lag: st.highWatermark < 0 || committed < 0 ? 0 : Math.max(0, st.highWatermark - committed),
          rowsTotal: st.rowsTotal,
          rowsPerSecond:
            old === undefined || span <= 0 ? 0 : Math.round((st.rowsTotal - old[1]) / Math.max(span, 1)),
          filesTotal: st.filesTotal,
          lastCommitAgeSeconds: st.lastCommitAt === 0 ? -1 : (now - st.lastCommitAt) / 1000,
        };
      });
  }
}

function safeOffset(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`Kafka offset ${offset} is beyond 2^53; not supported`);
  return Number(offset);
}
