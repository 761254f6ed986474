/**
 * Snapshot expiry, as Iceberg's `ExpireSnapshots` does it: one commit removes the snapshots older
 * than the retention (keeping the current one and at least the newest `minKeep`), then the files only
 * expired snapshots used are deleted: their manifest lists, the manifests no kept snapshot lists, and
 * the data files no kept snapshot holds. Data files are deleted only under the table's own location
 * (`<table>/data/`): a file outside it (bronze's Hive files) belongs to its writer, which deletes it
 * when its own protocol says so (bronze compaction, after its replace snapshot). Without expiry a
 * table's metadata file grows by one snapshot entry per commit, for ever.
 */
import { backoffDelayMs } from "../../backoff.ts";
import { lakeKeyOf } from "./catalog.ts";
import { ENTRY_DELETED } from "./manifest.ts";
import { CommitConflictError, currentSnapshot, MAIN, type Snapshot, type TableMetadata } from "./metadata.ts";
import type { IcebergTable } from "./table.ts";

export interface ExpiryPolicy {
  /** Snapshots younger than this are kept. */
  readonly maxAgeMs: number;
  /** The newest this many snapshots are kept whatever their age (at least 1: the current one). */
  readonly minKeep: number;
}

export interface ExpiryResult {
  readonly snapshotsExpired: number;
  readonly snapshotsKept: number;
  readonly manifestListsDeleted: number;
  readonly manifestsDeleted: number;
  readonly dataFilesDeleted: number;
}

const ATTEMPTS = 10;
const BACKOFF = { initialMs: 20, maxMs: 1000 } as const;

/** The snapshots `policy` expires at `nowMs`: older than the age, beyond the newest `minKeep`, not referenced. */
export function expiredSnapshots(m: TableMetadata, policy: ExpiryPolicy, nowMs: number): Snapshot[] {
  const newestFirst = [...(m.snapshots ?? [])].sort(
    (a, b) => b["sequence-number"] - a["sequence-number"] || b["timestamp-ms"] - a["timestamp-ms"],
  );
  const referenced = new Set(Object.values(m.refs ?? {}).map((r) => r["snapshot-id"]));
  const current = currentSnapshot(m)?.["snapshot-id"];
  return newestFirst.filter(
    (s, i) =>
      i >= Math.max(1, policy.minKeep) &&
      s["timestamp-ms"] < nowMs - policy.maxAgeMs &&
      s["snapshot-id"] !== current &&
      !referenced.has(s["snapshot-id"]),
  );
}

/** Expires snapshots by `policy` in one commit (retried on a conflict), then deletes what only they used. */
export async function expireSnapshots(
  table: IcebergTable,
  policy: ExpiryPolicy,
  nowMs: number = Date.now(),
): Promise<ExpiryResult> {
  for (let attempt = 1; ; attempt++) {
    const base = await table.load();
    const expired = base === undefined ? [] : expiredSnapshots(base.metadata, policy, nowMs);
    if (base === undefined || expired.length === 0) {
      const kept = base?.metadata.snapshots?.length ?? 0;
      return {
        snapshotsExpired: 0,
        snapshotsKept: kept,
        manifestListsDeleted: 0,
        manifestsDeleted: 0,
        dataFilesDeleted: 0,
      };
    }
    const m = base.metadata;
    try {
      const after = await table.catalog.commit(
        table.id,
        base,
        [
          { type: "assert-table-uuid", uuid: m["table-uuid"] },
          {
            type: "assert-ref-snapshot-id",
            ref: MAIN,
            "snapshot-id": currentSnapshot(m)?.["snapshot-id"] ?? null,
          },
        ],
        [{ action: "remove-snapshots", "snapshot-ids": expired.map((s) => s["snapshot-id"]) }],
      );
      const deleted = await deleteExpiredFiles(table, expired, after.metadata.snapshots ?? []);
      return {
        snapshotsExpired: expired.length,
        snapshotsKept: after.metadata.snapshots?.length ?? 0,
        ...deleted,
      };
    } catch (err) {
      if (!(err instanceof CommitConflictError) || attempt >= ATTEMPTS) throw err;
      await Bun.sleep(backoffDelayMs(BACKOFF, attempt));
    }
  }
}

/** Every file the kept snapshots use: manifest lists, manifests, and their live data files. */
export async function reachableFiles(
  table: IcebergTable,
  snapshots: readonly Snapshot[],
): Promise<{ lists: Set<string>; manifests: Set<string>; dataFiles: Set<string> }> {
  const lists = new Set<string>();
  const manifests = new Set<string>();
  const dataFiles = new Set<string>();
  for (const s of snapshots) {
    lists.add(s["manifest-list"]);
    for (const mf of await table.manifestList(s)) {
      if (manifests.has(mf.path)) continue;
      manifests.add(mf.path);
      for (const e of await table.manifest(mf.path))
        if (e.status !== ENTRY_DELETED) dataFiles.add(e.file.path);
    }
  }
  return { lists, manifests, dataFiles };
}

/** Deletes the files only `expired` used (`kept`: the snapshots the committed metadata still holds). */
async function deleteExpiredFiles(
  table: IcebergTable,
  expired: readonly Snapshot[],
  kept: readonly Snapshot[],
): Promise<Omit<ExpiryResult, "snapshotsExpired" | "snapshotsKept">> {
  const { store } = table;
  const location = lakeKeyOf(store, table.catalog.tableLocation(table.id));
  const reachable = await reachableFiles(table, kept);
  const lists = new Set<string>();
  const manifests = new Set<string>();
  const dataFiles = new Set<string>();
  for (const s of expired) {
    if (!reachable.lists.has(s["manifest-list"])) lists.add(s["manifest-list"]);
    // A list an earlier expiry or orphan removal already deleted: nothing of it is left to find.
    const list = await table.manifestList(s).catch(() => []);
    for (const mf of list) {
      if (reachable.manifests.has(mf.path) || manifests.has(mf.path)) continue;
      manifests.add(mf.path);
      const entries = await table.manifest(mf.path).catch(() => []);
      for (const e of entries) if (!reachable.dataFiles.has(e.file.path)) dataFiles.add(e.file.path);
    }
  }
  const inside = (path: string, dir: string) => {
    try {
      return lakeKeyOf(store, path).startsWith(`${location}/${dir}/`);
    } catch {
      return false; // not in this lake: never ours to delete
    }
  };
  const remove = async (paths: Iterable<string>, dir: string) => {
    let n = 0;
    for (const p of paths) {
      if (!inside(p, dir)) continue;
      await store.delete(lakeKeyOf(store, p));
      n += 1;
    }
    return n;
  };
  // A crash midway leaves files no metadata names: orphan-file removal deletes them later.
  const dataFilesDeleted = await remove(dataFiles, "data");
  const manifestsDeleted = await remove(manifests, "metadata");
  const manifestListsDeleted = await remove(lists, "metadata");
  return { manifestListsDeleted, manifestsDeleted, dataFilesDeleted };
}
