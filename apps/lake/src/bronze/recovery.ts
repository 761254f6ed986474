/**
 * Recovery of topic-partitions from the lake alone (never from Kafka's committed offset), run on
 * start, on every assignment and after a failed or lost commit:
 *  - roll forward: a commit record whose files are still staged gets them moved into the tree;
 *  - garbage: staged files that can never be committed are deleted (their range start is below
 *    or above the chain's next key, or the key is taken by another attempt's record);
 *  - resume: the next offset to consume is the chain tip's `last_offset + 1`.
 * Staged files whose range start equals the next key and have no record yet are kept: another
 * writer may be about to commit them; once the key is taken they become garbage.
 */
import type { AppendCommit, CommitLog, DatasetRef } from "@tributary/shared/lake/commit-log";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { parseStagedKey, stagingPrefix } from "./staging.ts";

export interface ReconcileResult {
  /** Next offset per partition. */
  readonly resume: Map<number, bigint>;
  readonly rolledForward: number;
  readonly garbageDeleted: number;
  readonly kept: number;
}

/**
 * Reconciles the staging area of `ds` for `topic`'s `partitions`. `nextKeys` overrides the
 * chain walk for partitions whose next key the caller already knows (periodic sweeps).
 */
export async function reconcilePartitions(
  store: LakeStore,
  log: CommitLog,
  ds: DatasetRef,
  topic: string,
  partitions: readonly number[],
  logger: Logger,
  nextKeys?: ReadonlyMap<number, bigint>,
): Promise<ReconcileResult> {
  const resume = new Map<number, bigint>();
  for (const p of partitions) {
    const known = nextKeys?.get(p);
    resume.set(p, known ?? (await log.chain(ds, topic, p)).resumeOffset);
  }
  // Group staged objects by (partition, first offset, attempt).
  const groups = new Map<string, { partition: number; first: bigint; attempt: string; keys: string[] }>();
  for await (const obj of store.list(stagingPrefix(ds))) {
    const staged = parseStagedKey(ds, obj.key);
    if (staged === undefined || staged.topic !== topic || !resume.has(staged.partition)) continue;
    const id = `${staged.partition}/${staged.firstOffset}/${staged.attempt}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = { partition: staged.partition, first: staged.firstOffset, attempt: staged.attempt, keys: [] };
      groups.set(id, g);
    }
    g.keys.push(obj.key);
  }
  let rolledForward = 0;
  let garbageDeleted = 0;
  let kept = 0;
  for (const g of groups.values()) {
    const record = await log.readAppend(ds, topic, g.partition, g.first);
    if (record !== undefined && record.writer === g.attempt) {
      await rollForward(store, record, logger);
      rolledForward += 1;
      // Anything of this attempt not named by the record (none expected) is garbage.
      const named = new Set(record.staged);
      for (const k of g.keys) if (!named.has(k)) await store.delete(k);
      continue;
    }
    if (record === undefined && g.first === resume.get(g.partition)) {
      kept += g.keys.length;
      continue;
    }
    for (const k of g.keys) await store.delete(k);
    garbageDeleted += g.keys.length;
  }
  if (rolledForward > 0 || garbageDeleted > 0) {
    logger.info("reconciled staging", {
      dataset: ds.name,
      topic,
      partitions,
      rolledForward,
      garbageDeleted,
      kept,
    });
  }
  return { resume, rolledForward, garbageDeleted, kept };
}

/** Moves every file of a committed record into the tree; files already moved are skipped. */
export async function rollForward(store: LakeStore, record: AppendCommit, logger: Logger): Promise<void> {
  for (let i = 0; i < record.files.length; i++) {
    const file = record.files[i];
    const staged = record.staged[i];
    if (file === undefined || staged === undefined) continue;
    try {
      await store.move(staged, file.path);
    } catch (err) {
      // A committed file that is neither staged nor published: the lake was damaged from outside.
      logger.error("committed file missing from staging and from the tree", {
        record: record.id,
        file: file.path,
        error: err,
      });
      throw err;
    }
  }
}
