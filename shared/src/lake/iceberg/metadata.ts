/**
 * Iceberg table metadata (format v2): the JSON document a catalog points at, and the table changes
 * as the REST catalog protocol spells them (requirements + updates). The embedded catalog applies
 * updates here; a REST catalog applies the same updates on its server, so both commit alike.
 */
import { randomUUID } from "node:crypto";
import type { IcebergSchema, PartitionSpec } from "./schema.ts";

export interface Snapshot {
  readonly "snapshot-id": number;
  readonly "parent-snapshot-id"?: number;
  readonly "sequence-number": number;
  readonly "timestamp-ms": number;
  readonly "manifest-list": string;
  readonly summary: Readonly<Record<string, string>> & { readonly operation: SnapshotOperation };
  readonly "schema-id": number;
}

export type SnapshotOperation = "append" | "replace" | "overwrite" | "delete";

export interface TableMetadata {
  readonly "format-version": 2;
  readonly "table-uuid": string;
  readonly location: string;
  readonly "last-sequence-number": number;
  readonly "last-updated-ms": number;
  readonly "last-column-id": number;
  readonly schemas: readonly IcebergSchema[];
  readonly "current-schema-id": number;
  readonly "partition-specs": readonly PartitionSpec[];
  readonly "default-spec-id": number;
  readonly "last-partition-id": number;
  readonly properties: Readonly<Record<string, string>>;
  readonly "current-snapshot-id"?: number | null;
  readonly snapshots?: readonly Snapshot[];
  readonly "snapshot-log"?: ReadonlyArray<{
    readonly "timestamp-ms": number;
    readonly "snapshot-id": number;
  }>;
  readonly "metadata-log"?: ReadonlyArray<{
    readonly "timestamp-ms": number;
    readonly "metadata-file": string;
  }>;
  readonly "sort-orders": ReadonlyArray<{ readonly "order-id": number; readonly fields: readonly unknown[] }>;
  readonly "default-sort-order-id": number;
  readonly refs?: Readonly<
    Record<string, { readonly "snapshot-id": number; readonly type: "branch" | "tag" }>
  >;
}

/** Table changes in the REST catalog protocol's form (the subset Tributary writes). */
export type TableUpdate =
  | { readonly action: "add-schema"; readonly schema: IcebergSchema; readonly "last-column-id": number }
  | { readonly action: "set-current-schema"; readonly "schema-id": number }
  | { readonly action: "add-snapshot"; readonly snapshot: Snapshot }
  | {
      readonly action: "set-snapshot-ref";
      readonly "ref-name": string;
      readonly type: "branch";
      readonly "snapshot-id": number;
    }
  | { readonly action: "remove-snapshots"; readonly "snapshot-ids": readonly number[] }
  | { readonly action: "set-properties"; readonly updates: Readonly<Record<string, string>> };

export type TableRequirement =
  | { readonly type: "assert-table-uuid"; readonly uuid: string }
  | { readonly type: "assert-ref-snapshot-id"; readonly ref: string; readonly "snapshot-id": number | null };

/** A requirement does not hold: another writer committed first. Retry from the new metadata. */
export class CommitConflictError extends Error {
  override readonly name = "IcebergCommitConflictError";
}

export const MAIN = "main";

/** How many earlier metadata files the metadata log keeps (older ones are deleted after a commit). */
export const DEFAULT_PREVIOUS_VERSIONS = 20;

export function newTableMetadata(input: {
  readonly location: string;
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  readonly spec: PartitionSpec;
  readonly properties: Readonly<Record<string, string>>;
  readonly nowMs: number;
}): TableMetadata {
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: input.location,
    "last-sequence-number": 0,
    "last-updated-ms": input.nowMs,
    "last-column-id": input.lastColumnId,
    schemas: [input.schema],
    "current-schema-id": input.schema["schema-id"],
    "partition-specs": [input.spec],
    "default-spec-id": input.spec["spec-id"],
    "last-partition-id": Math.max(999, ...input.spec.fields.map((f) => f["field-id"])),
    properties: input.properties,
    "current-snapshot-id": -1,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [{ "order-id": 0, fields: [] }],
    "default-sort-order-id": 0,
    refs: {},
  };
}

export function currentSnapshot(m: TableMetadata): Snapshot | undefined {
  const id = m.refs?.[MAIN]?.["snapshot-id"] ?? m["current-snapshot-id"];
  if (id === undefined || id === null || id === -1) return undefined;
  return m.snapshots?.find((s) => s["snapshot-id"] === id);
}

export function currentSchema(m: TableMetadata): IcebergSchema {
  const s = m.schemas.find((x) => x["schema-id"] === m["current-schema-id"]);
  if (s === undefined) throw new Error(`table metadata has no schema ${m["current-schema-id"]}`);
  return s;
}

export function defaultSpec(m: TableMetadata): PartitionSpec {
  const s = m["partition-specs"].find((x) => x["spec-id"] === m["default-spec-id"]);
  if (s === undefined) throw new Error(`table metadata has no partition spec ${m["default-spec-id"]}`);
  return s;
}

/** Time travel to a snapshot the table no longer holds (expired) or never held. */
export class SnapshotNotFoundError extends Error {
  override readonly name = "IcebergSnapshotNotFoundError";
}

/** The snapshot `id` (`VERSION AS OF`); throws {@link SnapshotNotFoundError} naming what the table still holds. */
export function snapshotById(m: TableMetadata, id: number, table = m.location): Snapshot {
  const found = m.snapshots?.find((s) => s["snapshot-id"] === id);
  if (found !== undefined) return found;
  const oldest = [...(m.snapshots ?? [])].sort((a, b) => a["timestamp-ms"] - b["timestamp-ms"])[0];
  throw new SnapshotNotFoundError(
    `${table}: snapshot ${id} is not in the table (expired by snapshot retention, or never committed); ` +
      (oldest === undefined
        ? "the table has no snapshots"
        : `the oldest kept is ${oldest["snapshot-id"]} from ${new Date(oldest["timestamp-ms"]).toISOString()}`),
  );
}

/** The snapshot current at `timestampMs` (the last one committed at or before it), as `TIMESTAMP AS OF` reads. */
export function snapshotAsOf(m: TableMetadata, timestampMs: number): Snapshot | undefined {
  let found: number | undefined;
  for (const e of m["snapshot-log"] ?? []) if (e["timestamp-ms"] <= timestampMs) found = e["snapshot-id"];
  return found === undefined ? undefined : m.snapshots?.find((s) => s["snapshot-id"] === found);
}

export function checkRequirements(m: TableMetadata, requirements: readonly TableRequirement[]): void {
  for (const r of requirements) {
    if (r.type === "assert-table-uuid" && r.uuid !== m["table-uuid"]) {
      throw new CommitConflictError(`table UUID is ${m["table-uuid"]}, not ${r.uuid}`);
    }
    if (r.type === "assert-ref-snapshot-id") {
      const now = m.refs?.[r.ref]?.["snapshot-id"] ?? null;
      if (now !== r["snapshot-id"]) {
        throw new CommitConflictError(`branch ${r.ref} is at snapshot ${now}, not ${r["snapshot-id"]}`);
      }
    }
  }
}

/**
 * Applies updates to `base` (whose own file is `baseLocation`, recorded in the metadata log) as
 * a catalog does on commit. The metadata log keeps `write.metadata.previous-versions-max` entries.
 */
export function applyUpdates(
  base: TableMetadata,
  baseLocation: string | undefined,
  updates: readonly TableUpdate[],
  nowMs: number,
): TableMetadata {
  let m: TableMetadata = { ...base, "last-updated-ms": nowMs };
  let lastAddedSchema: number | undefined;
  for (const u of updates) {
    switch (u.action) {
      case "add-schema":
        m = {
          ...m,
          schemas: [...m.schemas, u.schema],
          "last-column-id": Math.max(m["last-column-id"], u["last-column-id"]),
        };
        lastAddedSchema = u.schema["schema-id"];
        break;
      case "set-current-schema":
        m = {
          ...m,
          "current-schema-id":
            u["schema-id"] === -1 ? (lastAddedSchema ?? m["current-schema-id"]) : u["schema-id"],
        };
        break;
      case "add-snapshot":
        if (u.snapshot["sequence-number"] <= m["last-sequence-number"]) {
          throw new CommitConflictError(
            `snapshot sequence number ${u.snapshot["sequence-number"]} is not after ${m["last-sequence-number"]}`,
          );
        }
        m = {
          ...m,
          snapshots: [...(m.snapshots ?? []), u.snapshot],
          "last-sequence-number": u.snapshot["sequence-number"],
        };
        break;
      case "set-snapshot-ref":
        m = {
          ...m,
          refs: { ...(m.refs ?? {}), [u["ref-name"]]: { "snapshot-id": u["snapshot-id"], type: u.type } },
          ...(u["ref-name"] === MAIN
            ? {
                "current-snapshot-id": u["snapshot-id"],
                "snapshot-log": [
                  ...(m["snapshot-log"] ?? []),
                  { "timestamp-ms": snapshotTime(m, u["snapshot-id"]), "snapshot-id": u["snapshot-id"] },
                ],
              }
            : {}),
        };
        break;
      case "remove-snapshots": {
        const gone = new Set(u["snapshot-ids"]);
        const current = m.refs?.[MAIN]?.["snapshot-id"];
        if (current !== undefined && gone.has(current)) {
          throw new Error(`cannot remove snapshot ${current}: it is the current snapshot of ${MAIN}`);
        }
        m = {
          ...m,
          // A tag or branch at a removed snapshot goes with it (as Iceberg's ExpireSnapshots drops expired refs).
          refs: Object.fromEntries(
            Object.entries(m.refs ?? {}).filter(([, r]) => !gone.has(r["snapshot-id"])),
          ),
          snapshots: (m.snapshots ?? []).filter((s) => !gone.has(s["snapshot-id"])),
          "snapshot-log": (m["snapshot-log"] ?? []).filter((e) => !gone.has(e["snapshot-id"])),
        };
        break;
      }
      case "set-properties":
        m = { ...m, properties: { ...m.properties, ...u.updates } };
        break;
    }
  }
  if (baseLocation !== undefined) {
    const keep = Number(m.properties["write.metadata.previous-versions-max"] ?? DEFAULT_PREVIOUS_VERSIONS);
    const log = [
      ...(m["metadata-log"] ?? []),
      { "timestamp-ms": base["last-updated-ms"], "metadata-file": baseLocation },
    ];
    m = { ...m, "metadata-log": log.slice(Math.max(0, log.length - keep)) };
  }
  return m;
}

function snapshotTime(m: TableMetadata, id: number): number {
  return m.snapshots?.find((s) => s["snapshot-id"] === id)?.["timestamp-ms"] ?? m["last-updated-ms"];
}

/** Parses metadata JSON; snapshot IDs must be exact in a JS number (Tributary's are below 2^53). */
export function parseMetadata(location: string, text: string): TableMetadata {
  let m: TableMetadata;
  try {
    m = JSON.parse(text) as TableMetadata;
  } catch (cause) {
    throw new Error(`Iceberg metadata ${location} is not JSON`, { cause });
  }
  if (m["format-version"] !== 2) {
    throw new Error(`Iceberg metadata ${location}: format version ${m["format-version"]}, expected 2`);
  }
  for (const s of m.snapshots ?? []) {
    if (!Number.isSafeInteger(s["snapshot-id"])) {
      throw new Error(
        `Iceberg metadata ${location}: snapshot ID ${s["snapshot-id"]} is above 2^53 (not written by Tributary)`,
      );
    }
  }
  return m;
}

/** A fresh snapshot ID: random, positive, below 2^53 so it is exact in JSON and JS numbers. */
export function newSnapshotId(): number {
  const b = crypto.getRandomValues(new Uint32Array(2));
  return ((b[0] as number) & 0x1fffff) * 2 ** 32 + (b[1] as number) || 1;
}
