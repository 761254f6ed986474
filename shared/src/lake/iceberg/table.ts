/**
 * One Iceberg table of the lake: commits (a set of added and removed data files becomes one
 * snapshot, with optimistic retries against other writers) and read planning (the data files of a
 * snapshot). Manifests are immutable and cached by path; a commit reuses untouched manifests,
 * rewrites only those that lose files, and merges them once they pass a bound, so the metadata a
 * reader walks stays small however long a writer runs.
 */
import { randomUUID } from "node:crypto";
import { backoffDelayMs } from "../../backoff.ts";
import type { LakeStore } from "../store.ts";
import { type IcebergCatalog, type LoadedTable, lakeKeyOf, type TableIdent } from "./catalog.ts";
import {
  type DataFile,
  decodeManifest,
  decodeManifestList,
  ENTRY_ADDED,
  ENTRY_DELETED,
  ENTRY_EXISTING,
  encodeManifest,
  encodeManifestList,
  type ManifestEntry,
  type ManifestFile,
} from "./manifest.ts";
import {
  CommitConflictError,
  currentSchema,
  currentSnapshot,
  defaultSpec,
  MAIN,
  newSnapshotId,
  type Snapshot,
  type SnapshotOperation,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from "./metadata.ts";
import {
  type Column,
  evolveSchema,
  type IcebergSchema,
  nameMapping,
  type PartitionBy,
  type PartitionSpec,
  partitionSpec,
} from "./schema.ts";
import { partitionSummaries, snapshotSummary } from "./snapshot-summary.ts";

/** What a table holds: its columns (DuckDB types) and partitioning, from the dataset's contract. */
export interface TableDefinition {
  readonly columns: readonly Column[];
  readonly partitionBy: PartitionBy;
}

/** One commit: files added and removed (absolute paths), and summary entries (`tributary.*`). */
export interface TableChange {
  readonly operation: SnapshotOperation;
  readonly add: readonly DataFile[];
  readonly remove: readonly string[];
  readonly summary?: Readonly<Record<string, string>>;
  /**
   * Also remove, in the same commit, every earlier snapshot that holds a removed file, so the files
   * can be deleted once the commit stands (bronze compaction: the replaced files leave the Hive tree).
   */
  readonly expireRemoved?: boolean;
}

export class IcebergCommitError extends Error {
  override readonly name = "IcebergCommitError";
}

/** Properties every Tributary table carries (besides the name mapping). */
export const TABLE_PROPERTIES = {
  "write.format.default": "parquet",
  "write.parquet.compression-codec": "zstd",
  "write.metadata.delete-after-commit.enabled": "true",
  "write.metadata.previous-versions-max": "20",
  "tributary.managed": "true",
} as const;

/** Manifests a snapshot may list before a commit merges them into one. */
export const MAX_MANIFESTS = 16;
const MANIFEST_CACHE = 512;
const COMMIT_ATTEMPTS = 20;
const COMMIT_BACKOFF = { initialMs: 20, maxMs: 1000 } as const; // jittered: racing writers spread apart

/** Decoded manifests by path, shared by every table of a process (manifests never change). */
const manifestCache = new Map<string, readonly ManifestEntry[]>();

export class IcebergTable {
  constructor(
    readonly catalog: IcebergCatalog,
    readonly store: LakeStore,
    readonly id: TableIdent,
    readonly definition: TableDefinition,
  ) {}

  /** The table as it is now, created (empty) if it does not exist yet. */
  async loadOrCreate(): Promise<LoadedTable> {
    const loaded = await this.catalog.load(this.id);
    if (loaded !== undefined) return loaded;
    const { schema, lastColumnId } = evolveSchema(this.definition.columns, undefined, 0);
    const created = await this.catalog.create(this.id, {
      schema,
      lastColumnId,
      spec: partitionSpec(schema, this.definition.partitionBy),
      properties: { ...TABLE_PROPERTIES, "schema.name-mapping.default": nameMapping(schema) },
    });
    // A REST catalog assigns field IDs itself: the name mapping must name the IDs it chose.
    const mapping = nameMapping(currentSchema(created.metadata));
    if (created.metadata.properties["schema.name-mapping.default"] === mapping) return created;
    const requirements: TableRequirement[] = [
      { type: "assert-table-uuid", uuid: created.metadata["table-uuid"] },
    ];
    return this.catalog.commit(this.id, created, requirements, [
      { action: "set-properties", updates: { "schema.name-mapping.default": mapping } },
    ]);
  }

  async load(): Promise<LoadedTable | undefined> {
    return this.catalog.load(this.id);
  }

  /**
   * Commits the change `prepare` computes from the current table, retrying on a conflicting commit
   * (prepare runs again on the new state, so it can drop what another writer already committed).
   * Returns the new snapshot, or undefined when prepare has nothing to commit.
   */
  async commit(
    prepare: (base: LoadedTable) => Promise<TableChange | undefined> | TableChange | undefined,
  ): Promise<Snapshot | undefined> {
    for (let attempt = 1; ; attempt++) {
      const base = await this.loadOrCreate();
      const change = await prepare(base);
      if (change === undefined) return undefined;
      const { snapshot, requirements, updates } = await this.stage(base, change, attempt);
      try {
        await this.catalog.commit(this.id, base, requirements, updates);
        return snapshot;
      } catch (err) {
        if (!(err instanceof CommitConflictError) || attempt >= COMMIT_ATTEMPTS) throw err;
        await Bun.sleep(backoffDelayMs(COMMIT_BACKOFF, attempt));
      }
    }
  }

  /** Writes the manifests and manifest list of `change` on top of `base`; returns the updates to commit. */
  private async stage(
    base: LoadedTable,
    change: TableChange,
    attempt: number,
  ): Promise<{ snapshot: Snapshot; requirements: TableRequirement[]; updates: TableUpdate[] }> {
    const m = base.metadata;
    const updates: TableUpdate[] = [];
    const evolved = evolveSchema(this.definition.columns, currentSchema(m), m["last-column-id"]);
    let schema = currentSchema(m);
    if (evolved.changed) {
      schema = evolved.schema;
      updates.push(
        { action: "add-schema", schema, "last-column-id": evolved.lastColumnId },
        { action: "set-current-schema", "schema-id": -1 },
        { action: "set-properties", updates: { "schema.name-mapping.default": nameMapping(schema) } },
      );
    }
    const spec = defaultSpec(m);
    const parent = currentSnapshot(m);
    const sequence = BigInt(m["last-sequence-number"] + 1);
    const snapshotId = newSnapshotId();
    const remove = new Set(change.remove);
    const found = new Set<string>();
    let firstRemovedSequence: bigint | undefined; // the oldest data sequence number of a removed file
    const kept: ManifestFile[] = [];
    const rewritten: ManifestEntry[] = [];
    for (const mf of parent === undefined ? [] : await this.manifestList(parent)) {
      if (remove.size === 0) {
        kept.push(mf);
        continue;
      }
      const entries = await this.manifest(mf.path);
      if (!entries.some((e) => e.status !== ENTRY_DELETED && remove.has(e.file.path))) {
        kept.push(mf);
        continue;
      }
      for (const e of entries) {
        if (e.status === ENTRY_DELETED) continue;
        const seq = e.sequenceNumber ?? mf.sequenceNumber;
        const fileSeq = e.fileSequenceNumber ?? mf.sequenceNumber;
        if (remove.has(e.file.path)) {
          found.add(e.file.path);
          if (firstRemovedSequence === undefined || seq < firstRemovedSequence) firstRemovedSequence = seq;
          rewritten.push({
            status: ENTRY_DELETED,
            snapshotId,
            sequenceNumber: seq,
            fileSequenceNumber: fileSeq,
            file: e.file,
          });
        } else {
          rewritten.push({
            status: ENTRY_EXISTING,
            snapshotId: e.snapshotId,
            sequenceNumber: seq,
            fileSequenceNumber: fileSeq,
            file: e.file,
          });
        }
      }
    }
    const missing = [...remove].filter((p) => !found.has(p));
    if (missing.length > 0) {
      throw new IcebergCommitError(
        `${this.id.namespace}.${this.id.name}: cannot remove ${missing.length} file(s) the table does not hold, e.g. ${missing[0]}`,
      );
    }
    // Merge once the list grows past the bound: every live entry into one manifest.
    if (kept.length + 2 > MAX_MANIFESTS) {
      for (const mf of kept.splice(0)) {
        for (const e of await this.manifest(mf.path)) {
          if (e.status === ENTRY_DELETED) continue;
          rewritten.push({
            status: ENTRY_EXISTING,
            snapshotId: e.snapshotId,
            sequenceNumber: e.sequenceNumber ?? mf.sequenceNumber,
            fileSequenceNumber: e.fileSequenceNumber ?? mf.sequenceNumber,
            file: e.file,
          });
        }
      }
    }
    const added = change.add.map(
      (file): ManifestEntry => ({
        status: ENTRY_ADDED,
        snapshotId,
        sequenceNumber: null,
        fileSequenceNumber: null,
        file,
      }),
    );
    const nonce = randomUUID();
    const manifests = [...kept];
    let n = 0;
    for (const entries of [added, rewritten]) {
      if (entries.length === 0) continue;
      manifests.unshift(
        await this.writeManifest(`${nonce}-m${n++}.avro`, schema, spec, entries, snapshotId, sequence),
      );
    }
    const listKey = `${this.metadataDir()}/snap-${snapshotId}-${attempt}-${nonce}.avro`;
    await this.store.put(
      listKey,
      encodeManifestList(snapshotId, parent?.["snapshot-id"] ?? null, sequence, manifests),
    );
    const summary = snapshotSummary(change, parent, added, rewritten);
    const snapshot: Snapshot = {
      "snapshot-id": snapshotId,
      ...(parent === undefined ? {} : { "parent-snapshot-id": parent["snapshot-id"] }),
      "sequence-number": Number(sequence),
      "timestamp-ms": Date.now(),
      "manifest-list": this.store.url(listKey),
      summary,
      "schema-id": schema["schema-id"],
    };
    updates.push(
      { action: "add-snapshot", snapshot },
      { action: "set-snapshot-ref", "ref-name": MAIN, type: "branch", "snapshot-id": snapshotId },
    );
    if (change.expireRemoved === true && firstRemovedSequence !== undefined) {
      // History is linear: a file is in every snapshot from the one that added it (its data sequence number) on.
      const from = firstRemovedSequence;
      const ids = (m.snapshots ?? [])
        .filter((s) => BigInt(s["sequence-number"]) >= from)
        .map((s) => s["snapshot-id"]);
      if (ids.length > 0) updates.push({ action: "remove-snapshots", "snapshot-ids": ids });
    }
    const requirements: TableRequirement[] = [
      { type: "assert-table-uuid", uuid: m["table-uuid"] },
      { type: "assert-ref-snapshot-id", ref: MAIN, "snapshot-id": parent?.["snapshot-id"] ?? null },
    ];
    return { snapshot, requirements, updates };
  }

  private metadataDir(): string {
    return `${lakeKeyOf(this.store, this.catalog.tableLocation(this.id))}/metadata`;
  }

  private async writeManifest(
    name: string,
    schema: IcebergSchema,
    spec: PartitionSpec,
    entries: readonly ManifestEntry[],
    snapshotId: number,
    sequence: bigint,
  ): Promise<ManifestFile> {
    const key = `${this.metadataDir()}/${name}`;
    const bytes = encodeManifest(schema, spec, entries);
    await this.store.put(key, bytes);
    const path = this.store.url(key);
    remember(path, entries);
    const count = (s: number) => entries.filter((e) => e.status === s);
    const rows = (es: ManifestEntry[]) => es.reduce((a, e) => a + e.file.recordCount, 0);
    const seqs = entries.map((e) => e.sequenceNumber ?? sequence);
    return {
      path,
      length: bytes.length,
      specId: spec["spec-id"],
      sequenceNumber: sequence,
      // biome-ignore lint/complexity/useMathMinMax: bigint values (Math.min takes numbers).
      minSequenceNumber: seqs.reduce((a, b) => (b < a ? b : a), sequence),
      addedSnapshotId: snapshotId,
      addedFiles: count(ENTRY_ADDED).length,
      existingFiles: count(ENTRY_EXISTING).length,
      deletedFiles: count(ENTRY_DELETED).length,
      addedRows: rows(count(ENTRY_ADDED)),
      existingRows: rows(count(ENTRY_EXISTING)),
      deletedRows: rows(count(ENTRY_DELETED)),
      partitions: partitionSummaries(schema, spec, entries),
    };
  }

  /** The manifests of a snapshot. */
  async manifestList(snapshot: Snapshot): Promise<ManifestFile[]> {
    return decodeManifestList(await this.store.read(lakeKeyOf(this.store, snapshot["manifest-list"])));
  }

  async manifest(path: string): Promise<readonly ManifestEntry[]> {
    const cached = manifestCache.get(path);
    if (cached !== undefined) return cached;
    const entries = await decodeManifest(await this.store.read(lakeKeyOf(this.store, path)));
    remember(path, entries);
    return entries;
  }

  /** The data files of a snapshot (default: the current one); empty for a table without snapshots. */
  async files(snapshot?: Snapshot, metadata?: TableMetadata): Promise<DataFile[]> {
    const snap =
      snapshot ??
      (metadata ? currentSnapshot(metadata) : currentSnapshot((await this.loadOrCreate()).metadata));
    if (snap === undefined) return [];
    const out: DataFile[] = [];
    for (const mf of await this.manifestList(snap)) {
      for (const e of await this.manifest(mf.path)) if (e.status !== ENTRY_DELETED) out.push(e.file);
    }
    return out;
  }
}

function remember(path: string, entries: readonly ManifestEntry[]): void {
  if (manifestCache.size >= MANIFEST_CACHE) {
    const oldest = manifestCache.keys().next().value;
    if (oldest !== undefined) manifestCache.delete(oldest);
  }
  manifestCache.set(path, entries);
}
