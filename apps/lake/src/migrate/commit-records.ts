/**
 * The commit-log half of the layout migration: records name their files by lake key (`files[].path`,
 * `staged`, a compaction's `replaces`) and carry the files' Hive values (`files[].partition`), so
 * each record is rewritten with every key and value in the current layout's form. Records are
 * otherwise immutable; this is the one rewrite, done with the writers stopped, each record replaced
 * atomically by one `put`, so an interrupted run leaves every record whole and the next run
 * rewrites the rest.
 */
import { type CommitRecord, type CommittedFile, parseRecord } from "@tributary/shared/lake/commit-log";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";

const RECORD_KEY = new RegExp(`^${INTERNAL_DIR}/commits/[^/]+/[^/]+/(?:append|compaction)/.+\\.json$`);

/** A commit record whose rewritten form differs from what is stored. */
export interface RecordRewrite {
  readonly key: string;
  readonly text: string;
}

/** Every record of every dataset's commit log that names a key or value `toCurrent` changes. */
export async function planRecordRewrites(
  store: LakeStore,
  toCurrent: (key: string) => string,
): Promise<RecordRewrite[]> {
  const out: RecordRewrite[] = [];
  for await (const o of store.list(`${INTERNAL_DIR}/commits/`)) {
    if (!RECORD_KEY.test(o.key)) continue;
    const stored = await store.readText(o.key);
    const text = `${JSON.stringify(currentRecord(parseRecord(o.key, stored), toCurrent))}\n`;
    if (text !== stored) out.push({ key: o.key, text });
  }
  return out;
}

export async function applyRecordRewrite(store: LakeStore, rewrite: RecordRewrite): Promise<void> {
  await store.put(rewrite.key, rewrite.text);
}

/** The record with its file keys and partition values mapped; every other field as it was. */
export function currentRecord(record: CommitRecord, toCurrent: (key: string) => string): CommitRecord {
  const files = record.files.map((f) => currentFile(f, toCurrent));
  const staged = record.staged.map(toCurrent);
  return record.kind === "compaction"
    ? { ...record, files, staged, replaces: record.replaces.map(toCurrent) }
    : { ...record, files, staged };
}

function currentFile(f: CommittedFile, toCurrent: (key: string) => string): CommittedFile {
  const partition: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.partition)) {
    // A value's level maps as a one-segment key would: `symbol=BTC_USD` → `pair=BTC_USD`, `month=03` → `month=3`.
    const seg = toCurrent(`${k}=${v}`);
    const eq = seg.indexOf("=");
    partition[seg.slice(0, eq)] = seg.slice(eq + 1);
  }
  return { ...f, path: toCurrent(f.path), partition };
}
