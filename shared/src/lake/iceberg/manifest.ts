/**
 * (Over 400 lines: the spec's manifest and manifest-list Avro schemas with their field IDs, and the
 * bound encodings they use, read best as one listing against the spec.)
 *
 * Iceberg v2 manifests (which data files a snapshot holds, with their partition and counts) and
 * manifest lists (which manifests a snapshot holds), as Avro container files with the spec's field
 * IDs. Also the spec's single-value binary form for bounds (manifest column bounds and the manifest
 * list's partition summaries).
 */
import { decodeContainer, encodeContainer } from "./avro.ts";
import {
  type IcebergPrimitive,
  type IcebergSchema,
  type PartitionSpec,
  type PartitionValue,
  partitionValueType,
} from "./schema.ts";

/** One Parquet data file of a table. `path` is absolute (a local path or an `s3://` URL). */
export interface DataFile {
  readonly path: string;
  /** Partition tuple in the spec's field order. */
  readonly partition: readonly PartitionValue[];
  readonly recordCount: number;
  readonly fileSizeBytes: number;
  /** Column lower/upper bounds by field ID, single-value serialized (optional, may be loose). */
  readonly lowerBounds?: Readonly<Record<number, Uint8Array>>;
  readonly upperBounds?: Readonly<Record<number, Uint8Array>>;
}

export const ENTRY_EXISTING = 0;
export const ENTRY_ADDED = 1;
export const ENTRY_DELETED = 2;
export type EntryStatus = typeof ENTRY_EXISTING | typeof ENTRY_ADDED | typeof ENTRY_DELETED;

export interface ManifestEntry {
  readonly status: EntryStatus;
  readonly snapshotId: number;
  /** Data sequence number; `null` on ADDED entries (inherited from the manifest list). */
  readonly sequenceNumber: bigint | null;
  readonly fileSequenceNumber: bigint | null;
  readonly file: DataFile;
}

/** One manifest list entry. */
export interface ManifestFile {
  readonly path: string;
  readonly length: number;
  readonly specId: number;
  readonly sequenceNumber: bigint;
  readonly minSequenceNumber: bigint;
  readonly addedSnapshotId: number;
  readonly addedFiles: number;
  readonly existingFiles: number;
  readonly deletedFiles: number;
  readonly addedRows: number;
  readonly existingRows: number;
  readonly deletedRows: number;
  readonly partitions: ReadonlyArray<{
    readonly containsNull: boolean;
    readonly lower: Uint8Array | null;
    readonly upper: Uint8Array | null;
  }>;
}

function avroPrimitive(t: IcebergPrimitive): unknown {
  switch (t) {
    case "boolean":
    case "int":
    case "long":
    case "float":
    case "double":
    case "string":
      return t;
    case "date":
      return { type: "int", logicalType: "date" };
    case "timestamp":
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": t === "timestamptz" };
    case "binary":
      return "bytes";
    case "uuid":
      return { type: "fixed", name: "uuid_fixed", size: 16, logicalType: "uuid" };
    default:
      throw new Error(`partition values of type ${t} are not supported`);
  }
}

const mapOf = (name: string, keyId: number, valueId: number, value: unknown) => ({
  type: "array",
  items: {
    type: "record",
    name: `k${keyId}_v${valueId}`,
    fields: [
      { name: "key", type: "int", "field-id": keyId },
      { name: "value", type: value, "field-id": valueId },
    ],
  },
  logicalType: "map",
  _name: name,
});

const optional = (name: string, id: number, type: unknown) => ({
  name,
  type: ["null", type],
  default: null,
  "field-id": id,
});

/** The manifest entry schema (v2) for a partition spec. */
export function manifestEntrySchema(schema: IcebergSchema, spec: PartitionSpec): unknown {
  const partitionFields = spec.fields.map((f) => ({
    name: f.name,
    type: ["null", avroPrimitive(partitionValueType(schema, f))],
    default: null,
    "field-id": f["field-id"],
  }));
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      { name: "status", type: "int", "field-id": 0 },
      optional("snapshot_id", 1, "long"),
      optional("sequence_number", 3, "long"),
      optional("file_sequence_number", 4, "long"),
      {
        name: "data_file",
        "field-id": 2,
        type: {
          type: "record",
          name: "r2",
          fields: [
            { name: "content", type: "int", "field-id": 134 },
            { name: "file_path", type: "string", "field-id": 100 },
            { name: "file_format", type: "string", "field-id": 101 },
            {
              name: "partition",
              type: { type: "record", name: "r102", fields: partitionFields },
              "field-id": 102,
            },
            { name: "record_count", type: "long", "field-id": 103 },
            { name: "file_size_in_bytes", type: "long", "field-id": 104 },
            optional("column_sizes", 108, mapOf("column_sizes", 117, 118, "long")),
            optional("value_counts", 109, mapOf("value_counts", 119, 120, "long")),
            optional("null_value_counts", 110, mapOf("null_value_counts", 121, 122, "long")),
            optional("nan_value_counts", 137, mapOf("nan_value_counts", 138, 139, "long")),
            optional("lower_bounds", 125, mapOf("lower_bounds", 126, 127, "bytes")),
            optional("upper_bounds", 128, mapOf("upper_bounds", 129, 130, "bytes")),
            optional("key_metadata", 131, "bytes"),
            optional("split_offsets", 132, { type: "array", items: "long", "element-id": 133 }),
            optional("equality_ids", 135, { type: "array", items: "int", "element-id": 136 }),
            optional("sort_order_id", 140, "int"),
            optional("referenced_data_file", 143, "string"),
          ],
        },
      },
    ],
  };
}

const MANIFEST_LIST_SCHEMA = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    optional("partitions", 507, {
      type: "array",
      items: {
        type: "record",
        name: "r508",
        fields: [
          { name: "contains_null", type: "boolean", "field-id": 509 },
          optional("contains_nan", 518, "boolean"),
          optional("lower_bound", 510, "bytes"),
          optional("upper_bound", 511, "bytes"),
        ],
      },
      "element-id": 508,
    }),
    optional("key_metadata", 519, "bytes"),
  ],
};

/** Strips the helper `_name` keys (not Avro) from a schema built above. */
function clean(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema, (k, v) => (k === "_name" ? undefined : v)));
}

interface AvroEntry {
  status: number;
  snapshot_id: bigint | null;
  sequence_number: bigint | null;
  file_sequence_number: bigint | null;
  data_file: {
    content: number;
    file_path: string;
    file_format: string;
    partition: Record<string, unknown>;
    record_count: bigint;
    file_size_in_bytes: bigint;
    lower_bounds: Array<{ key: number; value: Buffer }> | null;
    upper_bounds: Array<{ key: number; value: Buffer }> | null;
  };
}

const boundsOut = (b: Readonly<Record<number, Uint8Array>> | undefined) =>
  b === undefined
    ? null
    : Object.entries(b)
        .map(([k, v]) => ({ key: Number(k), value: Buffer.from(v) }))
        .sort((x, y) => x.key - y.key);

const boundsIn = (b: Array<{ key: number; value: Buffer }> | null): Record<number, Uint8Array> | undefined =>
  b === null ? undefined : Object.fromEntries(b.map((e) => [e.key, new Uint8Array(e.value)]));

/** Encodes a manifest of `entries` for `spec` (v2, content = data). */
export function encodeManifest(
  schema: IcebergSchema,
  spec: PartitionSpec,
  entries: readonly ManifestEntry[],
): Uint8Array {
  const records = entries.map((e) => ({
    status: e.status,
    snapshot_id: BigInt(e.snapshotId),
    sequence_number: e.sequenceNumber,
    file_sequence_number: e.fileSequenceNumber,
    data_file: {
      content: 0,
      file_path: e.file.path,
      file_format: "PARQUET",
      partition: Object.fromEntries(
        spec.fields.map((f, i) => [
          f.name,
          partitionAvroValue(partitionValueType(schema, f), e.file.partition[i] ?? null),
        ]),
      ),
      record_count: BigInt(e.file.recordCount),
      file_size_in_bytes: BigInt(e.file.fileSizeBytes),
      column_sizes: null,
      value_counts: null,
      null_value_counts: null,
      nan_value_counts: null,
      lower_bounds: boundsOut(e.file.lowerBounds),
      upper_bounds: boundsOut(e.file.upperBounds),
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: null,
      referenced_data_file: null,
    },
  }));
  return encodeContainer(clean(manifestEntrySchema(schema, spec)), records, {
    schema: JSON.stringify(schema),
    "schema-id": String(schema["schema-id"]),
    "partition-spec": JSON.stringify(spec.fields),
    "partition-spec-id": String(spec["spec-id"]),
    "format-version": "2",
    content: "data",
  });
}

function partitionAvroValue(type: IcebergPrimitive, v: PartitionValue): unknown {
  if (v === null) return null;
  if (type === "long" || type === "timestamp" || type === "timestamptz") return BigInt(v);
  return v;
}

/** Decodes a manifest's entries (any partition spec: values are read back by field name). */
export async function decodeManifest(bytes: Uint8Array): Promise<ManifestEntry[]> {
  const { metadata, records } = await decodeContainer<AvroEntry>(bytes);
  const specFields = JSON.parse(metadata["partition-spec"] ?? "[]") as Array<{ name: string }>;
  return records.map((r) => ({
    status: r.status as EntryStatus,
    snapshotId: Number(r.snapshot_id ?? 0n),
    sequenceNumber: r.sequence_number,
    fileSequenceNumber: r.file_sequence_number,
    file: {
      path: r.data_file.file_path,
      partition: specFields.map((f) => {
        const v = r.data_file.partition[f.name];
        return v === null || v === undefined
          ? null
          : typeof v === "bigint"
            ? Number(v)
            : (v as string | number);
      }),
      recordCount: Number(r.data_file.record_count),
      fileSizeBytes: Number(r.data_file.file_size_in_bytes),
      ...(r.data_file.lower_bounds ? { lowerBounds: boundsIn(r.data_file.lower_bounds) } : {}),
      ...(r.data_file.upper_bounds ? { upperBounds: boundsIn(r.data_file.upper_bounds) } : {}),
    },
  }));
}

/** Encodes a manifest list (v2) for a snapshot. */
export function encodeManifestList(
  snapshotId: number,
  parentId: number | null,
  sequenceNumber: bigint,
  manifests: readonly ManifestFile[],
): Uint8Array {
  const records = manifests.map((m) => ({
    manifest_path: m.path,
    manifest_length: BigInt(m.length),
    partition_spec_id: m.specId,
    content: 0,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: BigInt(m.addedSnapshotId),
    added_files_count: m.addedFiles,
    existing_files_count: m.existingFiles,
    deleted_files_count: m.deletedFiles,
    added_rows_count: BigInt(m.addedRows),
    existing_rows_count: BigInt(m.existingRows),
    deleted_rows_count: BigInt(m.deletedRows),
    partitions: m.partitions.map((p) => ({
      contains_null: p.containsNull,
      contains_nan: null,
      lower_bound: p.lower === null ? null : Buffer.from(p.lower),
      upper_bound: p.upper === null ? null : Buffer.from(p.upper),
    })),
    key_metadata: null,
  }));
  return encodeContainer(MANIFEST_LIST_SCHEMA, records, {
    "snapshot-id": String(snapshotId),
    "parent-snapshot-id": parentId === null ? "null" : String(parentId),
    "sequence-number": String(sequenceNumber),
    "format-version": "2",
  });
}

interface AvroManifestFile {
  manifest_path: string;
  manifest_length: bigint;
  partition_spec_id: number;
  content: number;
  sequence_number: bigint;
  min_sequence_number: bigint;
  added_snapshot_id: bigint;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: bigint;
  existing_rows_count: bigint;
  deleted_rows_count: bigint;
  partitions: Array<{
    contains_null: boolean;
    lower_bound: Buffer | null;
    upper_bound: Buffer | null;
  }> | null;
}

export async function decodeManifestList(bytes: Uint8Array): Promise<ManifestFile[]> {
  const { records } = await decodeContainer<AvroManifestFile>(bytes);
  return records
    .filter((r) => r.content === 0)
    .map((r) => ({
      path: r.manifest_path,
      length: Number(r.manifest_length),
      specId: r.partition_spec_id,
      sequenceNumber: r.sequence_number,
      minSequenceNumber: r.min_sequence_number,
      addedSnapshotId: Number(r.added_snapshot_id),
      addedFiles: r.added_files_count,
      existingFiles: r.existing_files_count,
      deletedFiles: r.deleted_files_count,
      addedRows: Number(r.added_rows_count),
      existingRows: Number(r.existing_rows_count),
      deletedRows: Number(r.deleted_rows_count),
      partitions: (r.partitions ?? []).map((p) => ({
        containsNull: p.contains_null,
        lower: p.lower_bound === null ? null : new Uint8Array(p.lower_bound),
        upper: p.upper_bound === null ? null : new Uint8Array(p.upper_bound),
      })),
    }));
}

/** The spec's single-value binary serialization (bounds): little-endian numbers, UTF-8 strings, big-endian decimals. */
export function singleValue(type: IcebergPrimitive, value: string | number | bigint): Uint8Array {
  switch (type) {
    case "int":
    case "date": {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(value));
      return new Uint8Array(b);
    }
    case "long":
    case "timestamp":
    case "timestamptz": {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(value));
      return new Uint8Array(b);
    }
    case "string":
      return new TextEncoder().encode(String(value));
    default: {
      if (type.startsWith("decimal(")) return decimalBytes(BigInt(value));
      throw new Error(`bounds of type ${type} are not supported`);
    }
  }
}

/** Minimal two's-complement big-endian bytes of an unscaled decimal. */
function decimalBytes(unscaled: bigint): Uint8Array {
  const out: number[] = [];
  let v = unscaled;
  for (;;) {
    out.unshift(Number(v & 0xffn));
    const next = v >> 8n;
    const sign = (out[0] as number) & 0x80;
    if ((next === 0n && sign === 0) || (next === -1n && sign !== 0)) break;
    v = next;
  }
  return new Uint8Array(out);
}

/** Reads a single-value serialized int, long or string (the types Tributary writes bounds for). */
export function readSingleValue(type: IcebergPrimitive, bytes: Uint8Array): string | number | bigint {
  const b = Buffer.from(bytes);
  if (type === "int" || type === "date") return b.readInt32LE(0);
  if (type === "long" || type === "timestamp" || type === "timestamptz") return b.readBigInt64LE(0);
  return b.toString("utf8");
}
