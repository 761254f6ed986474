/**
 * Builds Kafka records in the Debezium PostgreSQL JSON envelope (schemas disabled, or with
 * CDC_SCHEMAS=on the JSON converter's `{"schema","payload"}` form: envelope-schema.ts) from decoded
 * rows, exactly as Debezium 3.6 writes them under the same settings (e2e/cdc/debezium.test.ts proves it).
 * Key = JSON object of the primary-key columns in key order; value = the envelope.
 * Types and field semantics: shared/src/contracts/cdc.ts; the remaining differences: docs/cdc.md.
 */
import { type CdcEnvelopeSettings, DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import {
  CDC_CONNECTOR,
  CDC_SOURCE_VERSION,
  type CdcOp,
  type CdcSnapshotMarker,
  UNAVAILABLE_VALUE,
} from "@tributary/shared/contracts/cdc";
import { converterFor, type EncodedValue, OID, type ValueConverter } from "./column-values.ts";
import type { SchemaColumn } from "./connect-schema.ts";
import { withSchemas } from "./envelope-schema.ts";
import { type Tuple, UNCHANGED_TOAST } from "./pgoutput.ts";

export interface ShapeColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly convert: ValueConverter;
  /**
   * What Debezium writes for this column when PostgreSQL did not send it (a delete's `before` under
   * REPLICA IDENTITY DEFAULT): the column's literal default, else a NOT NULL column's zero value,
   * else null (Kafka Connect fills a missing field from its schema).
   */
  readonly missing: EncodedValue;
  /** The column's type as its Kafka Connect schema describes it (CDC_SCHEMAS=on). */
  readonly schema: SchemaColumn;
}

/** A column as the catalog or a Relation message describes it. */
export interface ColumnDescription {
  readonly name: string;
  readonly typeOid: number;
  /** pg_attribute.atttypmod; -1 when none. */
  readonly typeMod?: number;
  readonly notNull?: boolean;
  /** PostgreSQL's text of the column's literal default (`pg_get_expr`), when it is a literal. */
  readonly defaultText?: string | null;
  /** pg_type.typname (the schema's `__debezium.source.column.type`); built-ins are known without it. */
  readonly typeName?: string;
  /** An enum's labels in sort order. */
  readonly enumValues?: readonly string[];
}

/** A table as the encoder sees it: columns in wire order and the key's column positions. */
export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly ShapeColumn[];
  /** Positions of the primary-key columns in key order; null when the table has no usable key. */
  readonly keyIndexes: readonly number[] | null;
}

export function tableShape(
  schema: string,
  table: string,
  columns: readonly ColumnDescription[],
  keyColumnNames: readonly string[] | null,
  settings: CdcEnvelopeSettings = DEFAULT_ENVELOPE,
): TableShape {
  const shaped = columns.map((c): ShapeColumn => {
    const typeMod = c.typeMod ?? -1;
    const convert = converterFor(c.typeOid, typeMod, settings);
    const schema: SchemaColumn = {
      name: c.name,
      typeOid: c.typeOid,
      typeMod,
      notNull: c.notNull ?? false,
      defaultValue: literalValue(c, convert),
      ...(c.typeName === undefined ? {} : { typeName: c.typeName }),
      ...(c.enumValues === undefined ? {} : { enumValues: c.enumValues }),
    };
    return { name: c.name, typeOid: c.typeOid, convert, missing: missingValue(c, convert), schema };
  });
  let keyIndexes: number[] | null = null;
  if (keyColumnNames && keyColumnNames.length > 0) {
    keyIndexes = keyColumnNames.map((k) => shaped.findIndex((c) => c.name === k));
    if (keyIndexes.some((i) => i < 0)) keyIndexes = null;
  }
  return { schema, table, columns: shaped, keyIndexes };
}

/** The column's literal default as its values are encoded; undefined without one. */
function literalValue(c: ColumnDescription, convert: ValueConverter): EncodedValue | undefined {
  if (c.defaultText === undefined || c.defaultText === null) return undefined;
  try {
    return convert(c.defaultText);
  } catch {
    return undefined; // not a value of the column's type: treated as no default
  }
}

function missingValue(c: ColumnDescription, convert: ValueConverter): EncodedValue {
  const literal = literalValue(c, convert);
  if (literal !== undefined) return literal;
  return c.notNull ? zeroOf(c.typeOid) : null;
}

/** Kafka Connect's zero value of the column's JSON type (Debezium fills a NOT NULL field with it). */
function zeroOf(typeOid: number): EncodedValue {
  switch (typeOid) {
    case OID.bool:
      return false;
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
    case OID.float4:
    case OID.float8:
      return 0;
    default:
      return "";
  }
}

export interface EnvelopeContext {
  /** Topic prefix, Debezium's logical server name (`source.name`). */
  readonly prefix: string;
  readonly db: string;
  /** Value encodings and tombstones; default: the configuration's defaults. */
  readonly settings?: CdcEnvelopeSettings;
}

/** Where a change sits: its transaction and its record. */
export interface ChangePosition {
  readonly xid: number;
  readonly commitLsn: bigint;
  readonly lsn: bigint;
  readonly commitTimeMicros: bigint;
  readonly totalOrder: number;
  readonly dataCollectionOrder: number;
}

export interface SnapshotPosition {
  /** The initial snapshot's consistent point; for an incremental read, its chunk's high watermark. */
  readonly consistentPoint: bigint;
  readonly startedMicros: bigint;
  readonly marker: CdcSnapshotMarker;
  /** An incremental read's place in the stream: the commit of its high watermark's transaction. */
  readonly stream?: { readonly commitLsn: bigint };
}

export interface EncodedRecord {
  /** The event's op; null for a tombstone (same key, null value). */
  readonly op: CdcOp | null;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers?: Readonly<Record<string, string>>;
}

type RowObject = Record<string, EncodedValue>;

/** Encodes a full tuple; an unchanged TOAST value becomes Debezium's unavailable-value placeholder. */
export function encodeRow(shape: TableShape, tuple: Tuple): RowObject {
  const row: RowObject = {};
  const n = Math.min(tuple.length, shape.columns.length);
  for (let i = 0; i < n; i++) {
    const col = shape.columns[i] as ShapeColumn;
    const v = tuple[i];
    row[col.name] =
      v === null || v === undefined ? null : v === UNCHANGED_TOAST ? UNAVAILABLE_VALUE : col.convert(v);
  }
  return row;
}

/**
 * Encodes an old-key tuple as Debezium does: the key columns' values and, for every other column,
 * what Debezium writes for a value PostgreSQL did not send (ShapeColumn.missing).
 */
export function encodeKeyTuple(shape: TableShape, tuple: Tuple): RowObject {
  const row: RowObject = {};
  const keys = new Set(shape.keyIndexes ?? []);
  shape.columns.forEach((col, i) => {
    const v = tuple[i];
    row[col.name] =
      keys.has(i) && v !== null && v !== undefined && v !== UNCHANGED_TOAST ? col.convert(v) : col.missing;
  });
  return row;
}

/** Encodes only the key columns (an old-key tuple carries nulls for every other column). */
export function encodeKeyOnly(shape: TableShape, tuple: Tuple): RowObject | null {
  if (!shape.keyIndexes) return null;
  const row: RowObject = {};
  for (const i of shape.keyIndexes) {
    const col = shape.columns[i] as ShapeColumn;
    const v = tuple[i];
    row[col.name] = v === null || v === undefined || v === UNCHANGED_TOAST ? null : col.convert(v);
  }
  return row;
}

export function keyJson(shape: TableShape, tuple: Tuple): string | null {
  const key = encodeKeyOnly(shape, tuple);
  return key ? JSON.stringify(key) : null;
}

/**
 * The envelope is assembled as text from pre-serialized pieces: it is the hot path (one per row),
 * and the `source` block is the same for every event of a table but for a few numbers.
 */
const sourceHead = new WeakMap<TableShape, Map<string, string>>();

function sourcePrefix(ctx: EnvelopeContext, shape: TableShape): string {
  let byCtx = sourceHead.get(shape);
  if (!byCtx) {
    byCtx = new Map();
    sourceHead.set(shape, byCtx);
  }
  const id = `${ctx.prefix}\u0000${ctx.db}`;
  let head = byCtx.get(id);
  if (!head) {
    head = `"version":${JSON.stringify(CDC_SOURCE_VERSION)},"connector":${JSON.stringify(CDC_CONNECTOR)},"name":${JSON.stringify(ctx.prefix)},`;
    byCtx.set(id, head);
  }
  return head;
}

/** `"ts_ms":…,"ts_us":…,"ts_ns":…` from epoch µs (exact: µs stay below 2^53 until the year 2255). */
function timeText(micros: bigint): string {
  const us = Number(micros);
  return `"ts_ms":${Math.floor(us / 1000)},"ts_us":${us},"ts_ns":${us === 0 ? "0" : `${us}000`}`;
}

function source(
  ctx: EnvelopeContext,
  shape: TableShape,
  micros: bigint,
  snapshot: CdcSnapshotMarker,
  commitLsn: bigint | null,
  lsn: bigint,
  txId: number | null,
): string {
  const sequence = commitLsn === null ? `[null,"${lsn}"]` : `["${commitLsn}","${lsn}"]`;
  const us = Number(micros);
  return (
    `{${sourcePrefix(ctx, shape)}"ts_ms":${Math.floor(us / 1000)},"snapshot":"${snapshot}","db":${JSON.stringify(ctx.db)},` +
    `"sequence":${JSON.stringify(sequence)},"ts_us":${us},"ts_ns":${us === 0 ? "0" : `${us}000`},` +
    `"schema":${JSON.stringify(shape.schema)},"table":${JSON.stringify(shape.table)},` +
    `"txId":${txId === null ? "null" : txId},"lsn":${lsn},"xmin":null,"origin":null,"origin_lsn":null}`
  );
}

function rowText(row: RowObject | null): string {
  return row === null ? "null" : JSON.stringify(row);
}

function envelope(
  before: RowObject | null,
  after: RowObject | null,
  src: string,
  transaction: string,
  op: CdcOp,
  nowMicros: bigint,
): string {
  return `{"before":${rowText(before)},"after":${rowText(after)},"source":${src},"transaction":${transaction},"op":"${op}",${timeText(nowMicros)}}`;
}

/** Debezium's `transaction` block: its id carries the LSN of the event itself (see transactionId). */
function transactionText(pos: ChangePosition, offset = 0): string {
  return `{"id":"${transactionId(pos.xid, pos.lsn)}","total_order":${pos.totalOrder + offset},"data_collection_order":${pos.dataCollectionOrder + offset}}`;
}

/**
 * Debezium's PostgreSQL transaction id `<txId>:<LSN>`, where the LSN is the position the connector
 * is at: the event's own for data events and BEGIN (the first event), the commit's end for END.
 */
export function transactionId(xid: number, lsn: bigint): string {
  return `${xid}:${lsn}`;
}

export function encodeSnapshotRead(
  ctx: EnvelopeContext,
  shape: TableShape,
  tuple: Tuple,
  pos: SnapshotPosition,
  nowMicros: bigint,
): EncodedRecord {
  const commitLsn = pos.stream?.commitLsn ?? null;
  const src = source(ctx, shape, pos.startedMicros, pos.marker, commitLsn, pos.consistentPoint, null);
  return withSchemas(ctx, shape, {
    op: "r",
    key: keyJson(shape, tuple),
    value: envelope(null, encodeRow(shape, tuple), src, "null", "r", nowMicros),
  });
}

export interface ChangeInput {
  readonly op: "c" | "u" | "d";
  /** Old values as PostgreSQL sent them: a key tuple, a full row (REPLICA IDENTITY FULL) or none. */
  readonly oldTuple: Tuple | null;
  readonly oldKind: "key" | "full" | null;
  readonly newTuple: Tuple | null;
}

/**
 * One streamed change → its records, as Debezium emits them. `before` is null for an update under
 * REPLICA IDENTITY DEFAULT (PostgreSQL sends no old values), the whole old row under FULL, and for
 * a delete the key with Debezium's fill for the other columns. A delete is followed by a tombstone
 * when `tombstones.on.delete`. An update that changes the primary key becomes a delete of the old
 * key (+ tombstone) and a create of the new one, with `__debezium.newkey` / `__debezium.oldkey`
 * headers: two events of the transaction (`dataEvents` 2).
 */
export function encodeChange(
  ctx: EnvelopeContext,
  shape: TableShape,
  change: ChangeInput,
  pos: ChangePosition,
  nowMicros: bigint,
): { readonly records: EncodedRecord[]; readonly dataEvents: number } {
  const out = encodeChangeRecords(ctx, shape, change, pos, nowMicros);
  return { records: out.records.map((r) => withSchemas(ctx, shape, r)), dataEvents: out.dataEvents };
}

function encodeChangeRecords(
  ctx: EnvelopeContext,
  shape: TableShape,
  change: ChangeInput,
  pos: ChangePosition,
  nowMicros: bigint,
): { readonly records: EncodedRecord[]; readonly dataEvents: number } {
  const tombstones = (ctx.settings ?? DEFAULT_ENVELOPE).tombstonesOnDelete;
  const src = source(ctx, shape, pos.commitTimeMicros, "false", pos.commitLsn, pos.lsn, pos.xid);
  const tx = transactionText(pos);
  const oldRow = (t: Tuple): RowObject =>
    change.oldKind === "full" ? encodeRow(shape, t) : encodeKeyTuple(shape, t);
  if (change.op === "d") {
    const oldTuple = change.oldTuple;
    const key = oldTuple ? keyJson(shape, oldTuple) : null;
    const before = oldTuple ? oldRow(oldTuple) : null;
    const records: EncodedRecord[] = [
      { op: "d", key, value: envelope(before, null, src, tx, "d", nowMicros) },
    ];
    if (tombstones) records.push({ op: null, key, value: null });
    return { records, dataEvents: 1 };
  }
  const newTuple = change.newTuple as Tuple;
  const after = encodeRow(shape, newTuple);
  const newKey = keyJson(shape, newTuple);
  if (change.op === "u" && change.oldTuple && shape.keyIndexes) {
    const oldKey = keyJson(shape, change.oldTuple);
    if (oldKey !== null && newKey !== null && oldKey !== newKey) {
      const moved = { "__debezium.newkey": newKey };
      const records: EncodedRecord[] = [
        {
          op: "d",
          key: oldKey,
          value: envelope(oldRow(change.oldTuple), null, src, tx, "d", nowMicros),
          headers: moved,
        },
      ];
      if (tombstones) records.push({ op: null, key: oldKey, value: null, headers: moved });
      records.push({
        op: "c",
        key: newKey,
        value: envelope(null, after, src, transactionText(pos, 1), "c", nowMicros),
        headers: { "__debezium.oldkey": oldKey },
      });
      return { records, dataEvents: 2 };
    }
  }
  const before =
    change.op === "u" && change.oldTuple && change.oldKind === "full"
      ? encodeRow(shape, change.oldTuple)
      : null;
  return {
    records: [{ op: change.op, key: newKey, value: envelope(before, after, src, tx, change.op, nowMicros) }],
    dataEvents: 1,
  };
}

/** A TRUNCATE of one table: key null, no before/after (Debezium's `t` event). */
export function encodeTruncate(
  ctx: EnvelopeContext,
  shape: TableShape,
  pos: ChangePosition,
  nowMicros: bigint,
): EncodedRecord {
  const src = source(ctx, shape, pos.commitTimeMicros, "false", pos.commitLsn, pos.lsn, pos.xid);
  return withSchemas(ctx, shape, {
    op: "t",
    key: null,
    value: envelope(null, null, src, transactionText(pos), "t", nowMicros),
  });
}
