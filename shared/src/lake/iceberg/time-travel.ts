/**
 * Reading a table as one of its snapshots: the snapshot named by id (Spark's `VERSION AS OF`), by
 * time (`TIMESTAMP AS OF`: the last one committed at or before it) or the current one, and the
 * locations of its data files for DuckDB's `read_parquet`. The console's as-of pages and the
 * notebooks' pinned lake views both read tables this way.
 */

import type { LakeStore } from "../store.ts";
import { type IcebergCatalog, lakeKeyOf, type TableIdent } from "./catalog.ts";
import {
  currentSnapshot,
  type Snapshot,
  snapshotAsOf,
  snapshotById,
  type TableMetadata,
} from "./metadata.ts";
import { IcebergTable } from "./table.ts";

/** Which snapshot: by id, by time (epoch ms), or the current one. */
export type SnapshotChoice =
  | { readonly kind: "snapshot"; readonly id: number }
  | { readonly kind: "time"; readonly ms: number }
  | { readonly kind: "current" };

export interface SnapshotRead {
  /** Undefined when the table had no snapshot at that time (or has none yet): it held nothing then. */
  readonly snapshot: Snapshot | undefined;
  readonly metadata: TableMetadata;
  /** Each data file's location as DuckDB reads it: an absolute path, or an `s3://` URL. */
  readonly locations: readonly string[];
}

/** Files one read may name; a snapshot holding more is refused rather than read unbounded. */
export const MAX_SNAPSHOT_FILES = 20_000;

/** `<namespace>.<name>`, how summaries and messages name a table. */
export const tableName = (id: TableIdent): string => `${id.namespace}.${id.name}`;

/**
 * The snapshot `choice` names and its files; undefined when there is no such table. Throws
 * `SnapshotNotFoundError` (metadata.ts) for an id the table does not hold (expired, or never
 * committed), and an Error for a snapshot of more than MAX_SNAPSHOT_FILES files.
 */
export async function readSnapshot(
  catalog: IcebergCatalog,
  store: LakeStore,
  id: TableIdent,
  choice: SnapshotChoice,
): Promise<SnapshotRead | undefined> {
  const loaded = await catalog.load(id);
  if (loaded === undefined) return undefined;
  const m = loaded.metadata;
  const snapshot =
    choice.kind === "snapshot"
      ? snapshotById(m, choice.id, tableName(id))
      : choice.kind === "time"
        ? snapshotAsOf(m, choice.ms)
        : currentSnapshot(m);
  if (snapshot === undefined) return { snapshot, metadata: m, locations: [] };
  const table = new IcebergTable(catalog, store, id, { columns: [], partitionBy: [] });
  const files = await table.files(snapshot, m);
  if (files.length > MAX_SNAPSHOT_FILES)
    throw new Error(
      `snapshot ${snapshot["snapshot-id"]} of ${tableName(id)} holds ${files.length} files; one read names at most ${MAX_SNAPSHOT_FILES}`,
    );
  return { snapshot, metadata: m, locations: files.map((f) => store.url(lakeKeyOf(store, f.path))) };
}
