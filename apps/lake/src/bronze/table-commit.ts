/**
 * Bronze → Iceberg: turns the commit log's records into table snapshots, like the coordinator of
 * Iceberg's Kafka Connect sink. The commit log stays the source of truth (a Kafka offset is
 * committed when its record exists); the table is its committed view. Each snapshot's summary holds
 * `tributary.offsets`, the next offset per topic-partition that the table contains, so a committer
 * always continues exactly where the table ends: a crash, a retry or two writers committing at once
 * can never add a record twice or skip one. A record's files are rolled forward into the tree
 * (idempotent) before a snapshot references them, so the table never names a file that is not in
 * place. Compaction records become `replace` snapshots once every file they replace is in the table.
 *
 * A compacted file is named in the table by its copy under the table's location
 * (`<table>/data/<Hive path below the dataset>`: a hard link on disk, a server-side copy on S3), which
 * is in place before the replace snapshot while the Hive leaf still holds the replaced files; the
 * replace snapshot also removes every earlier snapshot that holds a replaced file. So compaction
 * publishes (and deletes the replaced files) only after the replace snapshot stands, and no snapshot
 * the table keeps ever names a deleted file (docs/exactly-once.md, "Compaction").
 */
import type {
  AppendCommit,
  CommitLog,
  CompactionCommit,
  DatasetRef,
} from "@tributary/shared/lake/commit-log";
import { type IcebergCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { type DataFile, singleValue } from "@tributary/shared/lake/iceberg/manifest";
import { currentSchema, currentSnapshot, type Snapshot } from "@tributary/shared/lake/iceberg/metadata";
import { type Column, timeTransform } from "@tributary/shared/lake/iceberg/schema";
import { IcebergTable, type TableDefinition } from "@tributary/shared/lake/iceberg/table";
import { BRONZE_COLUMNS, partitionStartMicros } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { BronzeKind } from "./datasets.ts";

export const OFFSETS_KEY = "tributary.offsets";
export const COMPACTION_KEY = "tributary.compaction";

/** The Iceberg table of a bronze dataset: the bronze row contract, by hour (Kraken) or day (CDC) of the event time. */
export function bronzeTableDefinition(kind: BronzeKind): TableDefinition {
  return {
    columns: BRONZE_COLUMNS as unknown as readonly Column[],
    partitionBy: [["event_ts", kind === "kraken" ? "hour" : "day"]],
  };
}

export interface TableCommitResult {
  readonly appended?: Snapshot;
  readonly replaced?: Snapshot;
  /** Append records the snapshot took. */
  readonly records: number;
  readonly rows: number;
}

/** Whether `snapshot` holds compaction `id` (compaction ids sort in commit order). */
export function snapshotHasCompaction(snapshot: Snapshot | undefined, id: string): boolean {
  const last = snapshot?.summary[COMPACTION_KEY];
  return last !== undefined && last >= id;
}

/** `{ "kraken.trades/3": "12000" }`: the next offset per topic-partition a snapshot contains. */
export function snapshotOffsets(snapshot: Snapshot | undefined): Record<string, string> {
  const text = snapshot?.summary[OFFSETS_KEY];
  return text === undefined ? {} : (JSON.parse(text) as Record<string, string>);
}

export class BronzeTableCommitter {
  readonly table: IcebergTable;

  constructor(
    readonly store: LakeStore,
    readonly log: CommitLog,
    catalog: IcebergCatalog,
    readonly ds: DatasetRef,
    readonly kind: BronzeKind,
    /** Stop a snapshot after this many records per partition (bounds one commit's size). */
    private readonly maxRecordsPerPartition = 10_000,
  ) {
    this.table = new IcebergTable(
      catalog,
      store,
      { namespace: ds.layer, name: ds.name },
      bronzeTableDefinition(kind),
    );
  }

  /** Commits every record on the log beyond the table's offsets (appends), then ready compactions. */
  async commit(): Promise<TableCommitResult> {
    let records = 0;
    let rows = 0;
    const appended = await this.table.commit(async (base) => {
      const offsets = snapshotOffsets(currentSnapshot(base.metadata));
      const schema = currentSchema(base.metadata);
      const fieldId = (name: string) => schema.fields.find((f) => f.name === name)?.id as number;
      const add: DataFile[] = [];
      const next: Record<string, string> = { ...offsets };
      records = 0;
      rows = 0;
      for (const [topic, partition] of await this.log.partitions(this.ds)) {
        const key = `${topic}/${partition}`;
        const chain = await this.log.chain(this.ds, topic, partition, {
          fromOffset: BigInt(offsets[key] ?? "0"),
        });
        for (const r of chain.records.slice(0, this.maxRecordsPerPartition)) {
          await this.rollForward(r);
          for (const f of r.files) add.push(this.dataFile(r, f, fieldId));
          next[key] = (BigInt(r.last_offset) + 1n).toString();
          records += 1;
          rows += r.rows;
        }
      }
      if (records === 0) return undefined;
      // The last compaction applied travels with every snapshot, so the next replace starts after it.
      const compaction = currentSnapshot(base.metadata)?.summary[COMPACTION_KEY];
      return {
        operation: "append",
        add,
        remove: [],
        summary: {
          [OFFSETS_KEY]: JSON.stringify(sortKeys(next)),
          "tributary.commit-records": String(records),
          ...(compaction === undefined ? {} : { [COMPACTION_KEY]: compaction }),
        },
      };
    });
    const replaced = await this.commitCompactions();
    return { ...(appended ? { appended } : {}), ...(replaced ? { replaced } : {}), records, rows };
  }

  /** Applies compaction records (in id order) whose replaced files the table holds, as one replace snapshot. */
  private async commitCompactions(): Promise<Snapshot | undefined> {
    return this.table.commit(async (base) => {
      const snap = currentSnapshot(base.metadata);
      const after = snap?.summary[COMPACTION_KEY];
      const compactions = await this.log.compactionsSince(this.ds, after);
      if (compactions.length === 0) return undefined;
      const schema = currentSchema(base.metadata);
      const fieldId = (name: string) => schema.fields.find((f) => f.name === name)?.id as number;
      const live = new Set((await this.table.files(snap, base.metadata)).map((f) => f.path));
      const add = new Map<string, DataFile>();
      const remove = new Set<string>();
      let last: string | undefined;
      for (const c of compactions) {
        const replaced = c.replaces.map((p) => this.store.url(this.tableFileKey(p)));
        const written = c.files.map((f) => this.store.url(this.tableFileKey(f.path)));
        // Applied already (by a snapshot whose summary lost track of it): nothing to change, record it.
        if (written.every((p) => live.has(p)) && !replaced.some((p) => live.has(p))) {
          last = c.id;
          continue;
        }
        // Wait for the appends it covers: every replaced file must be in the table (or added here).
        if (!replaced.every((p) => (live.has(p) && !remove.has(p)) || add.has(p))) break;
        await this.placeCompacted(c);
        for (const p of replaced) {
          if (add.has(p)) add.delete(p);
          else remove.add(p);
        }
        for (const f of c.files) {
          const file = this.dataFile(c, f, fieldId);
          add.set(file.path, file);
        }
        last = c.id;
      }
      if (last === undefined) return undefined;
      return {
        operation: "replace",
        add: [...add.values()],
        remove: [...remove],
        summary: { [OFFSETS_KEY]: snap?.summary[OFFSETS_KEY] ?? "{}", [COMPACTION_KEY]: last },
        expireRemoved: true,
      };
    });
  }

  /**
   * Commits until the table holds compaction `id` (appends first, so the files it replaces are in
   * the table). Compaction and its recovery call this before publishing into the Hive tree.
   */
  async commitThrough(id: string, maxRounds = 100): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      const loaded = await this.table.load();
      if (loaded !== undefined && snapshotHasCompaction(currentSnapshot(loaded.metadata), id)) return;
      const r = await this.commit();
      if (r.records === 0 && r.replaced === undefined) break;
    }
    const loaded = await this.table.load();
    if (loaded !== undefined && snapshotHasCompaction(currentSnapshot(loaded.metadata), id)) return;
    throw new Error(
      `${this.ds.layer}.${this.ds.name}: compaction ${id} cannot be committed to the Iceberg table (a file it replaces is not in the table)`,
    );
  }

  /** Where the table keeps a file: a compacted file's copy under the table location, else the Hive file. */
  tableFileKey(hiveKey: string): string {
    const name = hiveKey.slice(hiveKey.lastIndexOf("/") + 1);
    if (!name.startsWith("compacted-")) return hiveKey;
    const datasetPrefix = `${this.ds.layer}/${this.ds.name}/`;
    const rel = hiveKey.startsWith(datasetPrefix) ? hiveKey.slice(datasetPrefix.length) : hiveKey;
    return `${lakeKeyOf(this.store, this.table.catalog.tableLocation(this.table.id))}/data/${rel}`;
  }

  /** Copies a compaction's files (staged, or already published) to where the table keeps them; idempotent. */
  private async placeCompacted(c: CompactionCommit): Promise<void> {
    for (const [i, f] of c.files.entries()) {
      const target = this.tableFileKey(f.path);
      if (await this.store.exists(target)) continue;
      let placed = false;
      // The staged file moves into the tree when the compaction publishes: then copy the published one.
      for (const from of [c.staged[i], f.path]) {
        if (from === undefined || placed) continue;
        placed = await this.store.copy(from, target).then(
          () => true,
          () => false,
        );
      }
      if (!placed) throw new Error(`compaction ${c.id}: ${f.path} is neither staged nor published`);
    }
  }

  /** Moves an append record's still-staged files into the tree (what the writer or recovery would do). */
  private async rollForward(r: AppendCommit): Promise<void> {
    for (let i = 0; i < r.files.length; i++) {
      const staged = r.staged[i];
      const file = r.files[i];
      if (staged === undefined || file === undefined) continue;
      if (await this.store.exists(staged)) await this.store.move(staged, file.path);
    }
  }

  private dataFile(
    r: AppendCommit | CompactionCommit,
    f: AppendCommit["files"][number],
    fieldId: (name: string) => number,
  ): DataFile {
    const at = partitionStartMicros(f.partition);
    const bounds =
      r.kind === "append"
        ? {
            lowerBounds: {
              [fieldId("kafka_partition")]: singleValue("int", r.partition),
              [fieldId("kafka_offset")]: singleValue("long", r.first_offset),
            },
            upperBounds: {
              [fieldId("kafka_partition")]: singleValue("int", r.partition),
              [fieldId("kafka_offset")]: singleValue("long", r.last_offset),
            },
          }
        : {};
    return {
      path: this.store.url(this.tableFileKey(f.path)),
      partition: [timeTransform(this.kind === "kraken" ? "hour" : "day", at)],
      recordCount: f.rows,
      fileSizeBytes: f.bytes,
      ...bounds,
    };
  }
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
