/**
 * The summaries a commit writes: per manifest, the partition bounds a reader prunes with (the
 * manifest list's `partitions`); per snapshot, the spec's counts (`added-data-files`, `total-records`, …).
 */
import {
  type DataFile,
  ENTRY_DELETED,
  type ManifestEntry,
  type ManifestFile,
  singleValue,
} from "./manifest.ts";
import type { Snapshot, SnapshotOperation } from "./metadata.ts";
import { type IcebergSchema, type PartitionSpec, partitionValueType } from "./schema.ts";
export function partitionSummaries(
  schema: IcebergSchema,
  spec: PartitionSpec,
  entries: readonly ManifestEntry[],
): ManifestFile["partitions"] {
  return spec.fields.map((f, i) => {
    const type = partitionValueType(schema, f);
    let lower: string | number | undefined;
    let upper: string | number | undefined;
    let containsNull = false;
    for (const e of entries) {
      const v = e.file.partition[i] ?? null;
      if (v === null) {
        containsNull = true;
        continue;
      }
      if (lower === undefined || v < lower) lower = v;
      if (upper === undefined || v > upper) upper = v;
    }
    return {
      containsNull,
      lower: lower === undefined ? null : singleValue(type, lower),
      upper: upper === undefined ? null : singleValue(type, upper),
    };
  });
}

export function snapshotSummary(
  change: { readonly operation: SnapshotOperation; readonly summary?: Readonly<Record<string, string>> },
  parent: Snapshot | undefined,
  added: readonly ManifestEntry[],
  rewritten: readonly ManifestEntry[],
): Snapshot["summary"] {
  const deleted = rewritten.filter((e) => e.status === ENTRY_DELETED);
  const sum = (es: readonly ManifestEntry[], f: (d: DataFile) => number) =>
    es.reduce((a, e) => a + f(e.file), 0);
  const prior = (k: string) => Number(parent?.summary[k] ?? 0);
  const addedRecords = sum(added, (d) => d.recordCount);
  const deletedRecords = sum(deleted, (d) => d.recordCount);
  const addedSize = sum(added, (d) => d.fileSizeBytes);
  const removedSize = sum(deleted, (d) => d.fileSizeBytes);
  const partitions = new Set([...added, ...deleted].map((e) => JSON.stringify(e.file.partition)));
  return {
    ...(change.summary ?? {}),
    operation: change.operation,
    "added-data-files": String(added.length),
    "deleted-data-files": String(deleted.length),
    "added-records": String(addedRecords),
    "deleted-records": String(deletedRecords),
    "added-files-size": String(addedSize),
    "removed-files-size": String(removedSize),
    "changed-partition-count": String(partitions.size),
    "total-records": String(prior("total-records") + addedRecords - deletedRecords),
    "total-files-size": String(prior("total-files-size") + addedSize - removedSize),
    "total-data-files": String(prior("total-data-files") + added.length - deleted.length),
    "total-delete-files": "0",
    "total-position-deletes": "0",
    "total-equality-deletes": "0",
    "engine-name": "tributary",
  };
}
