/**
 * A dataset's Iceberg history for the lake browser: the table's snapshots, newest first, with what
 * each one changed and which run committed it; and time travel: the data files of the snapshot a
 * user names by id (Spark's `VERSION AS OF`) or by time (`TIMESTAMP AS OF`: the last snapshot
 * committed at or before it). A dataset without a table (Hive-only, or a lake from before its first
 * Iceberg commit) has no history; the browser says so.
 */
import type { IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import {
  currentSnapshot,
  type Snapshot,
  SnapshotNotFoundError,
} from "@tributary/shared/lake/iceberg/metadata";
import {
  readSnapshot,
  type SnapshotChoice,
  type SnapshotRead,
} from "@tributary/shared/lake/iceberg/time-travel";
import type { Layer } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import { parseRfc3339Micros } from "@tributary/shared/time";

/** One snapshot as the browser shows it (counts from the snapshot's summary; null when it has none). */
export interface SnapshotRow {
  /** Iceberg's 64-bit id, as text (JSON numbers past 2^53 would round). */
  readonly id: string;
  readonly parent: string | null;
  readonly sequence: number;
  /** RFC 3339 UTC, milliseconds (Iceberg's precision). */
  readonly committedAt: string;
  readonly operation: string;
  readonly current: boolean;
  readonly addedRecords: number | null;
  readonly deletedRecords: number | null;
  readonly totalRecords: number | null;
  readonly addedFiles: number | null;
  readonly deletedFiles: number | null;
  readonly totalFiles: number | null;
  /** `tributary.run`: the job run that committed it (silver, gold). */
  readonly run: string | null;
  /** `tributary.read.<namespace>.<table>` → the snapshot id of each table the run read. */
  readonly reads: Readonly<Record<string, string>>;
}

export interface TableHistory {
  /** `<layer>.<dataset>`, the table's identifier in the catalog. */
  readonly table: string;
  readonly location: string;
  /** Newest first, at most the limit asked for. */
  readonly snapshots: readonly SnapshotRow[];
  /** Snapshots the table holds (older ones were expired by retention). */
  readonly total: number;
}

/** A snapshot named by id, or by time (epoch ms). */
export type AsOf = Exclude<SnapshotChoice, { readonly kind: "current" }>;

/** Bad `as_of` text: the answer is 400 with this message. */
export class AsOfError extends Error {
  override readonly name = "AsOfError";
}

/** The named snapshot is not in the table (or the table does not exist): the answer is 404. */
export class AsOfNotFound extends Error {
  override readonly name = "AsOfNotFound";
}

const READ_PREFIX = "tributary.read.";

/** `as_of` as a user types it: a snapshot id (digits) or an RFC 3339 time with its offset. */
export function parseAsOf(text: string): AsOf {
  const t = text.trim();
  if (/^\d{1,19}$/.test(t)) {
    const id = Number(t);
    if (!Number.isSafeInteger(id))
      throw new AsOfError(`as_of snapshot id ${t} is beyond 2^53: this console cannot name it exactly`);
    return { kind: "snapshot", id };
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(t)) {
    try {
      return { kind: "time", ms: Number(parseRfc3339Micros(t) / 1000n) };
    } catch (err) {
      throw new AsOfError(`as_of ${JSON.stringify(t.slice(0, 40))}: ${(err as Error).message}`);
    }
  }
  throw new AsOfError(
    `as_of ${JSON.stringify(t.slice(0, 40))} is neither a snapshot id (digits) nor an RFC 3339 time such as 2026-12-06T20:00:00Z`,
  );
}

function count(summary: Readonly<Record<string, string>>, key: string): number | null {
  const v = summary[key];
  return v === undefined || !/^\d+$/.test(v) ? null : Number(v);
}

function row(s: Snapshot, current: Snapshot | undefined): SnapshotRow {
  const reads: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.summary))
    if (k.startsWith(READ_PREFIX)) reads[k.slice(READ_PREFIX.length)] = v;
  return {
    id: String(s["snapshot-id"]),
    parent: s["parent-snapshot-id"] === undefined ? null : String(s["parent-snapshot-id"]),
    sequence: s["sequence-number"],
    committedAt: new Date(s["timestamp-ms"]).toISOString(),
    operation: s.summary.operation,
    current: current?.["snapshot-id"] === s["snapshot-id"],
    addedRecords: count(s.summary, "added-records"),
    deletedRecords: count(s.summary, "deleted-records"),
    totalRecords: count(s.summary, "total-records"),
    addedFiles: count(s.summary, "added-data-files"),
    deletedFiles: count(s.summary, "deleted-data-files"),
    totalFiles: count(s.summary, "total-data-files"),
    run: s.summary["tributary.run"] ?? null,
    reads,
  };
}

export class TableHistories {
  constructor(
    private readonly catalog: IcebergCatalog,
    private readonly store: LakeStore,
  ) {}

  /** The table's snapshots, newest first (at most `limit`); undefined when the dataset has no table. */
  async history(layer: Layer, name: string, limit = 200): Promise<TableHistory | undefined> {
    const loaded = await this.catalog.load({ namespace: layer, name });
    if (loaded === undefined) return undefined;
    const m = loaded.metadata;
    const current = currentSnapshot(m);
    const all = [...(m.snapshots ?? [])].sort(
      (a, b) => b["sequence-number"] - a["sequence-number"] || b["timestamp-ms"] - a["timestamp-ms"],
    );
    return {
      table: `${layer}.${name}`,
      location: m.location,
      snapshots: all.slice(0, limit).map((s) => row(s, current)),
      total: all.length,
    };
  }

  /** The current snapshot's id and data files; undefined without a table or a non-empty snapshot. */
  async current(layer: Layer, name: string): Promise<{ id: string; files: string[] } | undefined> {
    const read = await readSnapshot(
      this.catalog,
      this.store,
      { namespace: layer, name },
      { kind: "current" },
    );
    if (read?.snapshot === undefined || read.locations.length === 0) return undefined;
    return { id: String(read.snapshot["snapshot-id"]), files: [...read.locations] };
  }

  /**
   * The snapshot `asOf` names and the absolute paths of its data files, for DuckDB to read.
   * Throws {@link AsOfNotFound} when there is no such table or snapshot (naming what there is).
   */
  async resolve(layer: Layer, name: string, asOf: AsOf): Promise<{ snapshot: SnapshotRow; paths: string[] }> {
    const table = `${layer}.${name}`;
    let read: SnapshotRead | undefined;
    try {
      read = await readSnapshot(this.catalog, this.store, { namespace: layer, name }, asOf);
    } catch (err) {
      if (err instanceof SnapshotNotFoundError) throw new AsOfNotFound(err.message);
      throw new AsOfError((err as Error).message);
    }
    if (read === undefined)
      throw new AsOfNotFound(`${layer}/${name} has no Iceberg table, so no snapshots to read as of`);
    if (read.snapshot === undefined) {
      const first = read.metadata["snapshot-log"]?.[0];
      const when = asOf.kind === "time" ? new Date(asOf.ms).toISOString() : "now";
      throw new AsOfNotFound(
        `${table} has no snapshot committed at or before ${when}` +
          (first === undefined
            ? ""
            : `; its oldest kept is from ${new Date(first["timestamp-ms"]).toISOString()}`),
      );
    }
    return { snapshot: row(read.snapshot, currentSnapshot(read.metadata)), paths: [...read.locations] };
  }
}
