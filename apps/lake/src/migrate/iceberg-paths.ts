/**
 * The Iceberg half of the layout migration. Manifests are immutable and name data files by absolute
 * path, so the tables are not edited: each bronze table whose current snapshot names files at old
 * keys gets one `replace` snapshot (through the configured catalog, with its usual optimistic
 * retries) that removes those paths and adds the same files, same stats, at their new keys, and
 * carries `tributary.offsets` and `tributary.compaction` over so the bronze committer continues
 * exactly where the table ends. Snapshots older than the migration still name the old paths:
 * time travel to before it finds no files, as after a snapshot expiry. Only bronze tables exist
 * today (docs/iceberg.md); a table of another layer naming old paths is refused, not guessed at.
 */
import {
  type IcebergCatalog,
  lakeKeyOf,
  type TableIdent,
  WAREHOUSE_DIR,
} from "@tributary/shared/lake/iceberg/catalog";
import type { DataFile } from "@tributary/shared/lake/iceberg/manifest";
import { currentSnapshot, defaultSpec, type TableMetadata } from "@tributary/shared/lake/iceberg/metadata";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import { bronzeTableDefinition, COMPACTION_KEY, OFFSETS_KEY } from "../bronze/table-commit.ts";
import { LayoutMigrationError } from "./file-moves.ts";

/** A table whose current snapshot names data files at keys `toCurrent` changes. */
export interface TablePathRewrite {
  readonly id: TableIdent;
  /** Data files the current snapshot names at old keys. */
  readonly files: number;
}

/** The lake's tables: the warehouse's `<namespace>/<table>` folders and every bronze dataset with a commit log. */
async function tableIdents(store: LakeStore): Promise<TableIdent[]> {
  const names = new Set<string>();
  for (const ns of await store.children(`${WAREHOUSE_DIR}/`)) {
    for (const t of await store.children(`${WAREHOUSE_DIR}/${ns}/`)) names.add(`${ns}/${t}`);
  }
  for (const t of await store.children(`${INTERNAL_DIR}/commits/bronze/`)) names.add(`bronze/${t}`);
  return [...names].sort().map((n) => {
    const [namespace, name] = n.split("/") as [string, string];
    return { namespace, name };
  });
}

/** The lake key of a data file's path, or undefined for a file outside the lake (not ours to move). */
function keyOf(store: LakeStore, path: string): string | undefined {
  try {
    return lakeKeyOf(store, path);
  } catch {
    return undefined;
  }
}

function staleFiles(
  store: LakeStore,
  files: readonly DataFile[],
  toCurrent: (key: string) => string,
): DataFile[] {
  return files.filter((f) => {
    const key = keyOf(store, f.path);
    return key !== undefined && toCurrent(key) !== key;
  });
}

/** The table as the bronze committer defines it (hourly Kraken or daily CDC, read from its spec). */
function bronzeTable(
  catalog: IcebergCatalog,
  store: LakeStore,
  id: TableIdent,
  m: TableMetadata,
): IcebergTable {
  const hourly = defaultSpec(m).fields.some((f) => f.transform === "hour");
  return new IcebergTable(catalog, store, id, bronzeTableDefinition(hourly ? "kraken" : "cdc"));
}

/** Tables whose current snapshot names old keys; throws for such a table outside bronze. */
export async function planTableRewrites(
  store: LakeStore,
  catalog: IcebergCatalog,
  toCurrent: (key: string) => string,
): Promise<TablePathRewrite[]> {
  const out: TablePathRewrite[] = [];
  for (const id of await tableIdents(store)) {
    const loaded = await catalog.load(id);
    if (loaded === undefined) continue;
    const snap = currentSnapshot(loaded.metadata);
    if (snap === undefined) continue;
    // Listing a snapshot's files needs no table definition.
    const reader = new IcebergTable(catalog, store, id, { columns: [], partitionBy: [] });
    const stale = staleFiles(store, await reader.files(snap, loaded.metadata), toCurrent);
    if (stale.length === 0) continue;
    if (id.namespace !== "bronze")
      throw new LayoutMigrationError(
        `Iceberg table ${id.namespace}.${id.name} names ${stale.length} data file(s) at old keys (e.g. ${stale[0]?.path}); only bronze tables can be migrated`,
      );
    out.push({ id, files: stale.length });
  }
  return out;
}

/** Commits the `replace` snapshot that renames the table's old paths; returns the files renamed. */
export async function applyTableRewrite(
  store: LakeStore,
  catalog: IcebergCatalog,
  rewrite: TablePathRewrite,
  toCurrent: (key: string) => string,
): Promise<number> {
  const loaded = await catalog.load(rewrite.id);
  if (loaded === undefined) return 0;
  const table = bronzeTable(catalog, store, rewrite.id, loaded.metadata);
  let renamed = 0;
  await table.commit(async (base) => {
    const snap = currentSnapshot(base.metadata);
    const stale = staleFiles(store, await table.files(snap, base.metadata), toCurrent);
    renamed = stale.length;
    if (snap === undefined || stale.length === 0) return undefined;
    const carried: Record<string, string> = { "tributary.migration": "lake-layout-v2" };
    for (const k of [OFFSETS_KEY, COMPACTION_KEY]) {
      const v = snap.summary[k];
      if (v !== undefined) carried[k] = v;
    }
    return {
      operation: "replace",
      remove: stale.map((f) => f.path),
      add: stale.map((f) => ({ ...f, path: store.url(toCurrent(keyOf(store, f.path) as string)) })),
      summary: carried,
    };
  });
  return renamed;
}
