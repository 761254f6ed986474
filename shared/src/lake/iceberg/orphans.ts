/**
 * Orphan-file removal, as Iceberg's `DeleteOrphanFiles` does it: a file under a table's `metadata/`
 * or `data/` that neither the current metadata (its metadata log, snapshots, manifest lists,
 * manifests, live data files) names is an orphan, left by a commit that died or lost a race, or by
 * an expiry cut short. The store reports no reliable creation time (a hard link keeps its source's),
 * so instead of a file's age this uses how long it has been an orphan: each run records when it first
 * found a file unreferenced (`_tributary/iceberg/orphans/<namespace>/<table>.json`) and deletes it
 * once it has stayed unreferenced for `minAgeMs`, so a commit in flight is never robbed of a file.
 */
import { lakeKeyOf } from "./catalog.ts";
import { reachableFiles } from "./expire.ts";
import type { IcebergTable } from "./table.ts";

export interface OrphanResult {
  /** Unreferenced files found, deleted or not yet old enough. */
  readonly orphans: number;
  readonly deleted: number;
}

const VERSION_FILE = /\/v(\d+)\.metadata\.json$/;

/** Where the first sighting of each orphan of a table is kept. */
export function orphanStateKey(table: IcebergTable): string {
  return `_tributary/iceberg/orphans/${table.id.namespace}/${table.id.name}.json`;
}

export async function removeOrphanFiles(
  table: IcebergTable,
  opts: { readonly minAgeMs: number },
  nowMs: number = Date.now(),
): Promise<OrphanResult> {
  const { store } = table;
  const loaded = await table.load();
  if (loaded === undefined) return { orphans: 0, deleted: 0 };
  const m = loaded.metadata;
  const location = lakeKeyOf(store, table.catalog.tableLocation(table.id));
  const keyOf = (path: string): string | undefined => {
    try {
      return lakeKeyOf(store, path);
    } catch {
      return undefined;
    }
  };
  const reachable = await reachableFiles(table, m.snapshots ?? []);
  const referenced = new Set<string>([`${location}/metadata/version-hint.text`]);
  for (const p of [
    loaded.metadataLocation,
    ...(m["metadata-log"] ?? []).map((e) => e["metadata-file"]),
    ...reachable.lists,
    ...reachable.manifests,
    ...reachable.dataFiles,
  ]) {
    const k = keyOf(p);
    if (k !== undefined) referenced.add(k);
  }
  const current = Number(VERSION_FILE.exec(keyOf(loaded.metadataLocation) ?? "")?.[1] ?? Number.NaN);
  const stateKey = orphanStateKey(table);
  const text = await store.readTextIfExists(stateKey);
  const firstSeen = text === undefined ? {} : (JSON.parse(text) as Record<string, number>);
  const stillOrphans: Record<string, number> = {};
  let orphans = 0;
  let deleted = 0;
  for (const dir of ["metadata", "data"]) {
    for await (const o of store.list(`${location}/${dir}/`)) {
      if (referenced.has(o.key)) continue;
      // A version at or after the one loaded may be a commit landing right now.
      const version = Number(VERSION_FILE.exec(o.key)?.[1] ?? Number.NaN);
      if (Number.isInteger(version) && !(version < current)) continue;
      orphans += 1;
      const seen = firstSeen[o.key] ?? nowMs;
      if (nowMs - seen >= opts.minAgeMs) {
        await store.delete(o.key);
        deleted += 1;
      } else stillOrphans[o.key] = seen;
    }
  }
  if (Object.keys(stillOrphans).length > 0) await store.put(stateKey, JSON.stringify(stillOrphans));
  else if (text !== undefined) await store.delete(stateKey);
  return { orphans, deleted };
}
