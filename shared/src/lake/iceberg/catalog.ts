/**
 * Iceberg catalogs: where a table's current metadata is found and how a commit swaps it.
 *
 * The embedded catalog needs no server: a table's metadata lives in the lake at
 * `_iceberg/<namespace>/<table>/metadata/v<N>.metadata.json`, the layout of Iceberg's Hadoop
 * catalog (Spark reads it with `type=hadoop`, `warehouse=<LAKE_URI>/_iceberg`). A commit is the
 * exclusive creation of `v<N+1>` (link(2) on disk, a conditional PUT on S3, as the commit log
 * does); `version-hint.text` is an advisory pointer that readers verify by probing forward.
 */
import { LakeConflictError, type LakeStore } from "../store.ts";
import {
  applyUpdates,
  CommitConflictError,
  checkRequirements,
  newTableMetadata,
  parseMetadata,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from "./metadata.ts";
import type { IcebergSchema, PartitionSpec } from "./schema.ts";

/** A table: namespace = the lake layer, name = the dataset. */
export interface TableIdent {
  readonly namespace: string;
  readonly name: string;
}

export interface LoadedTable {
  readonly metadata: TableMetadata;
  /** Absolute location of the metadata file (a path or an `s3://` URL). */
  readonly metadataLocation: string;
}

export interface CreateTable {
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  readonly spec: PartitionSpec;
  readonly properties: Readonly<Record<string, string>>;
}

export interface IcebergCatalog {
  readonly kind: "embedded" | "rest";
  /** Absolute table location (its metadata and Tributary-managed data files live under it). */
  tableLocation(id: TableIdent): string;
  load(id: TableIdent): Promise<LoadedTable | undefined>;
  /** Creates the table; if it exists already (a racing creator), returns the existing one. */
  create(id: TableIdent, table: CreateTable): Promise<LoadedTable>;
  /** Commits updates on top of `base`; throws {@link CommitConflictError} if `base` is no longer current. */
  commit(
    id: TableIdent,
    base: LoadedTable,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<LoadedTable>;
}

/** The warehouse directory of the embedded catalog, relative to the lake root. */
export const WAREHOUSE_DIR = "_iceberg";

export function tableKey(id: TableIdent): string {
  return `${WAREHOUSE_DIR}/${id.namespace}/${id.name}`;
}

/** The lake key of an absolute path or URL under the store's root (inverse of `store.url`). */
export function lakeKeyOf(store: LakeStore, location: string): string {
  const root = store.url("x").slice(0, -1);
  const plain = location.startsWith("file:") ? location.replace(/^file:(\/\/)?/, "") : location;
  if (!plain.startsWith(root)) throw new Error(`${location} is not inside the lake ${store.root}`);
  return plain.slice(root.length);
}

/** How long a racing conditional PUT may trail ours on a non-atomic S3 server. */
const S3_SETTLE_MS = 150;

const VERSION_FILE = /^v(\d+)\.metadata\.json$/;

export class EmbeddedCatalog implements IcebergCatalog {
  readonly kind = "embedded" as const;
  constructor(
    readonly store: LakeStore,
    private readonly clock: () => number = Date.now,
  ) {}

  tableLocation(id: TableIdent): string {
    return this.store.url(tableKey(id));
  }

  private metadataKey(id: TableIdent, version: number): string {
    return `${tableKey(id)}/metadata/v${version}.metadata.json`;
  }

  /** The newest version: the hint, then probing forward (the hint may lag a commit). */
  private async latestVersion(id: TableIdent): Promise<number | undefined> {
    const hint = await this.store.readTextIfExists(`${tableKey(id)}/metadata/version-hint.text`);
    let version = hint === undefined ? Number.NaN : Number(hint.trim());
    if (!Number.isInteger(version) || !(await this.store.exists(this.metadataKey(id, version)))) {
      version = 0;
      for await (const o of this.store.list(`${tableKey(id)}/metadata/v`)) {
        const m = VERSION_FILE.exec(o.key.slice(o.key.lastIndexOf("/") + 1));
        if (m) version = Math.max(version, Number(m[1]));
      }
      if (version === 0) return undefined;
    }
    while (await this.store.exists(this.metadataKey(id, version + 1))) version += 1;
    return version;
  }

  async load(id: TableIdent): Promise<LoadedTable | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = await this.latestVersion(id);
      if (version === undefined) return undefined;
      const key = this.metadataKey(id, version);
      // Maintenance may delete an old version between the probe and the read: probe again.
      const text = await this.store.readTextIfExists(key);
      if (text !== undefined)
        return { metadata: parseMetadata(key, text), metadataLocation: this.store.url(key) };
    }
    throw new Error(`Iceberg table ${id.namespace}.${id.name}: metadata keeps changing under the reader`);
  }

  async create(id: TableIdent, table: CreateTable): Promise<LoadedTable> {
    const metadata = newTableMetadata({
      location: this.tableLocation(id),
      schema: table.schema,
      lastColumnId: table.lastColumnId,
      spec: table.spec,
      properties: table.properties,
      nowMs: this.clock(),
    });
    const key = this.metadataKey(id, 1);
    try {
      await this.store.put(key, JSON.stringify(metadata), { ifAbsent: true });
    } catch (err) {
      if (!(err instanceof LakeConflictError)) throw err;
      const existing = await this.load(id);
      if (existing === undefined) throw err;
      return existing;
    }
    await this.store.put(`${tableKey(id)}/metadata/version-hint.text`, "1");
    return { metadata, metadataLocation: this.store.url(key) };
  }

  async commit(
    id: TableIdent,
    base: LoadedTable,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<LoadedTable> {
    checkRequirements(base.metadata, requirements);
    const baseKey = lakeKeyOf(this.store, base.metadataLocation);
    const m = VERSION_FILE.exec(baseKey.slice(baseKey.lastIndexOf("/") + 1));
    if (!m) throw new Error(`not an embedded catalog metadata file: ${base.metadataLocation}`);
    const next = Number(m[1]) + 1;
    const metadata = applyUpdates(base.metadata, base.metadataLocation, updates, this.clock());
    const key = this.metadataKey(id, next);
    try {
      await this.store.put(key, JSON.stringify(metadata), { ifAbsent: true });
    } catch (err) {
      if (err instanceof LakeConflictError) {
        throw new CommitConflictError(
          `${id.namespace}.${id.name}: version ${next} was committed by another writer`,
        );
      }
      throw err;
    }
    if (this.store.kind === "s3") {
      // Some S3 servers (S3Proxy) check, then write a conditional PUT, so a racing PUT can land just
      // after ours: read back, twice, that ours stuck (AWS S3 and MinIO decide atomically).
      for (const waitMs of [0, S3_SETTLE_MS]) {
        await Bun.sleep(waitMs);
        const stored = await this.store.readTextIfExists(key);
        if (stored !== JSON.stringify(metadata)) {
          throw new CommitConflictError(
            `${id.namespace}.${id.name}: version ${next} was overwritten by another writer`,
          );
        }
      }
    }
    // From here the commit stands; the rest is advisory or cleanup and may fail harmlessly.
    await this.store.put(`${tableKey(id)}/metadata/version-hint.text`, String(next)).catch(() => undefined);
    if (metadata.properties["write.metadata.delete-after-commit.enabled"] === "true") {
      const kept = new Set((metadata["metadata-log"] ?? []).map((e) => e["metadata-file"]));
      for (const e of base.metadata["metadata-log"] ?? []) {
        if (!kept.has(e["metadata-file"])) {
          await this.store.delete(lakeKeyOf(this.store, e["metadata-file"])).catch(() => undefined);
        }
      }
    }
    return { metadata, metadataLocation: this.store.url(key) };
  }
}
