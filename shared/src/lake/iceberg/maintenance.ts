/**
 * Table maintenance over the whole lake: every Iceberg table under the warehouse
 * (`_iceberg/<layer>/<dataset>`, the location both catalogs use) gets snapshot expiry and
 * orphan-file removal. Scheduled by the lake's `iceberg.*` jobs; one table's failure does not stop
 * the others (it is reported, and the job fails after the rest ran).
 */
import type { LakeStore } from "../store.ts";
import { type IcebergCatalog, type TableIdent, WAREHOUSE_DIR } from "./catalog.ts";
import { type ExpiryPolicy, type ExpiryResult, expireSnapshots } from "./expire.ts";
import { type OrphanResult, removeOrphanFiles } from "./orphans.ts";
import { IcebergTable } from "./table.ts";

export const LAKE_LAYERS = ["bronze", "silver", "gold"] as const;

/** Maintenance never commits data files, so a table needs no column definition here. */
const NO_DEFINITION = { columns: [], partitionBy: [] } as const;

/** The tables the lake holds: each `_iceberg/<layer>/<name>/` with a `metadata/` directory. */
export async function lakeTables(store: LakeStore): Promise<TableIdent[]> {
  const out: TableIdent[] = [];
  for (const namespace of LAKE_LAYERS) {
    for (const name of await store.children(`${WAREHOUSE_DIR}/${namespace}/`)) {
      if ((await store.children(`${WAREHOUSE_DIR}/${namespace}/${name}/`)).includes("metadata"))
        out.push({ namespace, name });
    }
  }
  return out;
}

export function maintainedTable(store: LakeStore, catalog: IcebergCatalog, id: TableIdent): IcebergTable {
  return new IcebergTable(catalog, store, id, NO_DEFINITION);
}

export class TableMaintenanceError extends Error {
  override readonly name = "TableMaintenanceError";
}

/** Runs `step` on every table of the lake; throws after all ran if any failed, naming them. */
async function everyTable<R>(
  store: LakeStore,
  catalog: IcebergCatalog,
  step: (table: IcebergTable) => Promise<R>,
): Promise<Record<string, R>> {
  const results: Record<string, R> = {};
  const failed: string[] = [];
  let firstError: unknown;
  for (const id of await lakeTables(store)) {
    const name = `${id.namespace}.${id.name}`;
    try {
      results[name] = await step(maintainedTable(store, catalog, id));
    } catch (err) {
      failed.push(name);
      firstError ??= err;
    }
  }
  if (failed.length > 0) {
    throw new TableMaintenanceError(`table maintenance failed for ${failed.join(", ")}`, {
      cause: firstError,
    });
  }
  return results;
}

export function expireLakeSnapshots(
  store: LakeStore,
  catalog: IcebergCatalog,
  policy: ExpiryPolicy,
  nowMs: number = Date.now(),
): Promise<Record<string, ExpiryResult>> {
  return everyTable(store, catalog, (t) => expireSnapshots(t, policy, nowMs));
}

export function removeLakeOrphans(
  store: LakeStore,
  catalog: IcebergCatalog,
  minAgeMs: number,
  nowMs: number = Date.now(),
): Promise<Record<string, OrphanResult>> {
  return everyTable(store, catalog, (t) => removeOrphanFiles(t, { minAgeMs }, nowMs));
}
