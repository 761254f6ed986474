/**
 * A LakeReader that reads the silver or gold datasets of other jobs through their Iceberg tables:
 * the first read of a dataset pins its table's current snapshot, and every later listing, existence
 * check and path of that dataset in the run answers from that snapshot (its Hive keys, served by
 * the immutable table files behind them). A run that reads silver while silver rewrites it sees
 * one whole silver run, never a mix, and names what it read in its own snapshot's summary
 * (`tributary.read.<namespace>.<table>` → snapshot id), so its output can be checked against it.
 *
 * A dataset with no table (Hive-only: a column Iceberg cannot hold, or a lake from before its first
 * Iceberg commit) is read from the Hive tree as before. A job's own datasets are not pinned: it
 * merges into the Hive view it keeps itself (staged-publish.ts explains why a re-run after a crash
 * must read that view).
 */
import type { IcebergCatalog, TableIdent } from "@tributary/shared/lake/iceberg/catalog";
import { lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { currentSnapshot, type Snapshot, type TableMetadata } from "@tributary/shared/lake/iceberg/metadata";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { catalogOf, datasetTableOf, hiveKeyOf, tableLocationKey } from "./dataset-table.ts";
import type { LakeJobEnv } from "./env.ts";
import { LakeReader } from "./lake-reader.ts";

/** Summary key prefix naming the snapshot of each table a run read. */
export const READ_KEY_PREFIX = "tributary.read.";
/** The snapshot id recorded for a table read before its first snapshot. */
const NO_SNAPSHOT = "none";

interface PinnedView {
  readonly snapshotId: string;
  /** The table metadata the pin was taken from (its snapshot list serves `changedSince`). */
  readonly metadata: TableMetadata;
  /** Hive key → the table data file (lake key) that holds it in the pinned snapshot. */
  readonly files: ReadonlyMap<string, string>;
}

const DATASET_PREFIX = /^(silver|gold)\/([^/]+)\//;

export class SnapshotReader extends LakeReader {
  private readonly views = new Map<string, Promise<PinnedView | undefined>>();

  constructor(
    store: LakeStore,
    scratchDir: string,
    private readonly catalog: IcebergCatalog,
    /** The layers read through snapshots (`silver` for gold; both for a verifier). */
    private readonly layers: readonly ("silver" | "gold")[],
  ) {
    super(store, scratchDir);
  }

  override async paths(keys: readonly string[]): Promise<string[]> {
    const resolved: string[] = [];
    for (const key of keys) {
      const view = await this.viewOf(datasetTableOf(key));
      resolved.push(view?.files.get(key) ?? key);
    }
    return super.paths(resolved);
  }

  override async parquetKeys(prefix: string): Promise<string[]> {
    const m = DATASET_PREFIX.exec(prefix);
    const view = m ? await this.viewOf({ namespace: m[1] as string, name: m[2] as string }) : undefined;
    if (view === undefined) return super.parquetKeys(prefix);
    return [...view.files.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  override async existing(keys: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const key of keys) {
      const view = await this.viewOf(datasetTableOf(key));
      if (view === undefined ? await this.store.exists(key) : view.files.has(key)) out.push(key);
    }
    return out;
  }

  /**
   * The Hive keys of table `id` whose file differs between the pinned snapshot (pinned now if not yet)
   * and the older snapshot `sinceId` a previous run read: added, rewritten or removed. Undefined when
   * that cannot be told (no table, or `sinceId` expired). The snapshot holds its changes and its data
   * as one commit, so a reader gets every change of what it reads, however the producer's other
   * records (its change journal) lag behind.
   */
  async changedSince(id: TableIdent, sinceId: string): Promise<string[] | undefined> {
    const view = await this.viewOf(id);
    if (view === undefined) return undefined;
    if (view.snapshotId === sinceId) return [];
    let before: ReadonlyMap<string, string> = new Map();
    if (sinceId !== NO_SNAPSHOT) {
      const snap = view.metadata.snapshots?.find((s) => String(s["snapshot-id"]) === sinceId);
      if (snap === undefined) return undefined;
      before = await this.hiveFiles(id, snap, view.metadata);
    }
    const keys = new Set([...view.files.keys(), ...before.keys()]);
    return [...keys].filter((k) => view.files.get(k) !== before.get(k)).sort();
  }

  /**
   * The Hive keys of `datasets` (silver or gold tables) that changed between the snapshots a previous
   * run recorded in `read` (its `snapshotsRead()`) and the ones pinned now. A dataset the previous
   * run did not record adds nothing; one whose recorded snapshot expired adds nothing and is logged
   * (the caller's change journal still names its changes).
   */
  async changedSinceRead(
    read: Readonly<Record<string, string>> | undefined,
    namespace: "silver" | "gold",
    datasets: readonly string[],
    log: Logger,
  ): Promise<string[]> {
    const out: string[] = [];
    for (const name of datasets) {
      const since = read?.[`${READ_KEY_PREFIX}${namespace}.${name}`];
      if (since === undefined) continue;
      const keys = await this.changedSince({ namespace, name }, since);
      if (keys === undefined)
        log.info("the snapshot a previous run read is gone: its change journal alone says what changed", {
          table: `${namespace}.${name}`,
          snapshot: since,
        });
      else out.push(...keys);
    }
    return out;
  }

  /** `tributary.read.<namespace>.<table>` → the snapshot id pinned, for every table read so far. */
  async snapshotsRead(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [name, view] of this.views) {
      const v = await view;
      if (v !== undefined) out[`${READ_KEY_PREFIX}${name}`] = v.snapshotId;
    }
    return out;
  }

  private viewOf(id: TableIdent | undefined): Promise<PinnedView | undefined> {
    if (id === undefined || !(this.layers as readonly string[]).includes(id.namespace))
      return Promise.resolve(undefined);
    const name = `${id.namespace}.${id.name}`;
    let view = this.views.get(name);
    if (view === undefined) {
      view = this.pin(id);
      this.views.set(name, view);
    }
    return view;
  }

  private async pin(id: TableIdent): Promise<PinnedView | undefined> {
    const loaded = await this.catalog.load(id);
    if (loaded === undefined) return undefined;
    const snap = currentSnapshot(loaded.metadata);
    const files =
      snap === undefined ? new Map<string, string>() : await this.hiveFiles(id, snap, loaded.metadata);
    return {
      snapshotId: snap === undefined ? NO_SNAPSHOT : String(snap["snapshot-id"]),
      metadata: loaded.metadata,
      files,
    };
  }

  /** Hive key → data file (lake key) of every file of `snap`. */
  private async hiveFiles(
    id: TableIdent,
    snap: Snapshot,
    metadata: TableMetadata,
  ): Promise<Map<string, string>> {
    const table = new IcebergTable(this.catalog, this.store, id, { columns: [], partitionBy: [] });
    const location = tableLocationKey(this.store, this.catalog, id);
    const files = new Map<string, string>();
    for (const f of await table.files(snap, metadata)) {
      const dataKey = lakeKeyOf(this.store, f.path);
      const hiveKey = hiveKeyOf(location, id, dataKey);
      if (hiveKey !== undefined) files.set(hiveKey, dataKey);
    }
    return files;
  }
}

/** A reader for a job of `env` that reads other jobs' `layers` through pinned snapshots. */
export function snapshotReader(
  env: Pick<LakeJobEnv, "store" | "catalog" | "scratchDir">,
  layers: readonly ("silver" | "gold")[],
): SnapshotReader {
  return new SnapshotReader(env.store, env.scratchDir, catalogOf(env), layers);
}
