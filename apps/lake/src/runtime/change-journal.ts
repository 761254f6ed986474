/**
 * The change journal of a silver job: one immutable JSON entry per run that changed files, listing
 * the (dataset, symbol, hour) partitions it rewrote. Gold and the CSV export keep their own watermark
 * (the last entry seq they processed) and recompute only what changed.
 *
 *   <LAKE_URI>/_tributary/changes/<producer>/<seq, 12 digits>.json
 *
 * Entries are created exclusively, so a re-run after a crash appends a new entry rather than
 * rewriting one a consumer may already have read. The hourly maintenance job prunes entries every
 * consumer has passed. A consumer whose watermark is older than the oldest entry left (or a new
 * consumer) sees `gap: true` and must recompute everything.
 */
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import { LakeConflictError, type LakeStore } from "@tributary/shared/lake/store";
import { formatMicros, nowMicros } from "@tributary/shared/time";

export const CHANGE_JOURNAL_VERSION = 1 as const;

export interface ChangedPartition {
  /** Silver dataset name, e.g. `kraken_trades`. */
  readonly dataset: string;
  /** Partition value, e.g. `BTC_USD`. */
  readonly symbol: string;
  /** Start of the UTC hour, RFC 3339 with microseconds. */
  readonly hour: string;
}

export interface ChangeEntry {
  readonly v: typeof CHANGE_JOURNAL_VERSION;
  readonly seq: number;
  readonly producer: string;
  readonly at: string;
  readonly partitions: readonly ChangedPartition[];
}

export interface ChangesSince {
  readonly entries: readonly ChangeEntry[];
  /** The highest seq read (the watermark to store), or the given one when nothing is new. */
  readonly last: number;
  /** Entries after the watermark were pruned: the consumer must recompute everything. */
  readonly gap: boolean;
}

export class ChangeJournalError extends Error {
  override readonly name = "ChangeJournalError";
}

const SEQ_DIGITS = 12;
const MAX_APPEND_ATTEMPTS = 8;

export class ChangeJournal {
  constructor(
    readonly store: LakeStore,
    readonly producer: string,
  ) {}

  private get prefix(): string {
    return `${INTERNAL_DIR}/changes/${this.producer}/`;
  }

  private key(seq: number): string {
    return `${this.prefix}${String(seq).padStart(SEQ_DIGITS, "0")}.json`;
  }

  private async seqs(): Promise<number[]> {
    const out: number[] = [];
    for await (const o of this.store.list(this.prefix)) {
      const m = /\/(\d+)\.json$/.exec(o.key);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** The newest seq, or 0 when the journal is empty. */
  async head(): Promise<number> {
    return (await this.seqs()).at(-1) ?? 0;
  }

  /** Appends an entry (nothing when `partitions` is empty) and returns its seq (or the head). */
  async append(partitions: readonly ChangedPartition[], at = formatMicros(nowMicros())): Promise<number> {
    if (partitions.length === 0) return this.head();
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const seq = (await this.head()) + 1;
      const entry: ChangeEntry = { v: CHANGE_JOURNAL_VERSION, seq, producer: this.producer, at, partitions };
      try {
        await this.store.put(this.key(seq), `${JSON.stringify(entry)}\n`, { ifAbsent: true });
        return seq;
      } catch (err) {
        if (!(err instanceof LakeConflictError)) throw err;
      }
    }
    throw new ChangeJournalError(`${this.producer}: could not append a change entry (seq contention)`);
  }

  /** Entries with seq > `watermark`, in order. */
  async since(watermark: number): Promise<ChangesSince> {
    const seqs = await this.seqs();
    const newer = seqs.filter((s) => s > watermark);
    const oldest = seqs[0];
    // Pruned past the watermark, or the journal was reset under the consumer's feet.
    const gap = (oldest !== undefined && oldest > watermark + 1) || watermark > (seqs.at(-1) ?? 0);
    const entries: ChangeEntry[] = [];
    for (const seq of newer) {
      const text = await this.store.readText(this.key(seq));
      const entry = JSON.parse(text) as ChangeEntry;
      if (entry.v !== CHANGE_JOURNAL_VERSION || entry.seq !== seq || !Array.isArray(entry.partitions)) {
        throw new ChangeJournalError(`change entry ${this.key(seq)} has an unknown shape`);
      }
      entries.push(entry);
    }
    return { entries, last: newer.at(-1) ?? watermark, gap };
  }

  /** Deletes entries with seq <= `upTo` (every consumer has passed them); keeps the newest one. */
  async prune(upTo: number): Promise<number> {
    const seqs = await this.seqs();
    const newest = seqs.at(-1);
    let removed = 0;
    for (const seq of seqs) {
      if (seq > upTo || seq === newest) continue;
      await this.store.delete(this.key(seq));
      removed += 1;
    }
    return removed;
  }
}
