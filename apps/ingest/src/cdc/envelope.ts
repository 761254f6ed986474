/**
 * Builds Kafka records in the Debezium PostgreSQL JSON envelope (schemas disabled) from decoded
 * rows. Key = JSON object of the primary-key columns in key order; value = the envelope.
 * Types and field semantics: shared/src/contracts/cdc.ts; deviations from Debezium: docs/cdc.md.
 */
import {
  CDC_CONNECTOR,
  CDC_SOURCE_VERSION,
  type CdcOp,
  type CdcSnapshotMarker,
  UNAVAILABLE_VALUE,
} from "@tributary/shared/contracts/cdc";
import { converterFor, type EncodedValue, type ValueConverter } from "./column-values.ts";
import { type Tuple, UNCHANGED_TOAST } from "./pgoutput.ts";

export interface ShapeColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly convert: ValueConverter;
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
  columns: readonly { readonly name: string; readonly typeOid: number }[],
  keyColumnNames: readonly string[] | null,
): TableShape {
  const shaped = columns.map((c) => ({ name: c.name, typeOid: c.typeOid, convert: converterFor(c.typeOid) }));
  let keyIndexes: number[] | null = null;
  if (keyColumnNames && keyColumnNames.length > 0) {
    keyIndexes = keyColumnNames.map((k) => shaped.findIndex((c) => c.name === k));
    if (keyIndexes.some((i) => i < 0)) keyIndexes = null;
  }
  return { schema, table, columns: shaped, keyIndexes };
}

export interface EnvelopeContext {
  /** Topic prefix, Debezium's logical server name (`source.name`). */
  readonly prefix: string;
  readonly db: string;
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
  readonly consistentPoint: bigint;
  readonly startedMicros: bigint;
  readonly marker: CdcSnapshotMarker;
}

export interface EncodedRecord {
  readonly op: CdcOp;
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
  return (
    `{${sourcePrefix(ctx, shape)}${timeText(micros)},"snapshot":"${snapshot}","db":${JSON.stringify(ctx.db)},` +
    `"sequence":${JSON.stringify(sequence)},"schema":${JSON.stringify(shape.schema)},"table":${JSON.stringify(shape.table)},` +
    `"txId":${txId === null ? "null" : txId},"lsn":${lsn},"xmin":null}`
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

function transactionText(pos: ChangePosition): string {
  return `{"id":"${transactionId(pos.xid, pos.commitLsn)}","total_order":${pos.totalOrder},"data_collection_order":${pos.dataCollectionOrder}}`;
}

export function transactionId(xid: number, commitLsn: bigint): string {
  return `${xid}:${commitLsn}`;
}

export function encodeSnapshotRead(
  ctx: EnvelopeContext,
  shape: TableShape,
  tuple: Tuple,
  pos: SnapshotPosition,
  nowMicros: bigint,
): EncodedRecord {
  const src = source(ctx, shape, pos.startedMicros, pos.marker, null, pos.consistentPoint, null);
  return {
    op: "r",
    key: keyJson(shape, tuple),
    value: envelope(null, encodeRow(shape, tuple), src, "null", "r", nowMicros),
  };
}

export interface ChangeInput {
  readonly op: "c" | "u" | "d";
  /** Old values as PostgreSQL sent them: a key tuple, a full row (REPLICA IDENTITY FULL) or none. */
  readonly oldTuple: Tuple | null;
  readonly oldKind: "key" | "full" | null;
  readonly newTuple: Tuple | null;
}

/**
 * One streamed change → its records. An update that changes the primary key becomes a delete of the
 * old key and a create of the new one, with `__debezium.newkey` / `__debezium.oldkey` headers, as
 * Debezium does, so per-key consumers never keep the old row.
 */
export function encodeChange(
  ctx: EnvelopeContext,
  shape: TableShape,
  change: ChangeInput,
  pos: ChangePosition,
  nowMicros: bigint,
): EncodedRecord[] {
  const src = source(ctx, shape, pos.commitTimeMicros, "false", pos.commitLsn, pos.lsn, pos.xid);
  const tx = transactionText(pos);
  // With REPLICA IDENTITY DEFAULT, PostgreSQL sends no old values for an update that keeps the
  // key; the old key is then the new key, which is what Debezium documents for `before`.
  const before =
    change.oldTuple === null
      ? change.op === "u" && change.newTuple
        ? encodeKeyOnly(shape, change.newTuple)
        : null
      : change.oldKind === "full"
        ? encodeRow(shape, change.oldTuple)
        : encodeKeyOnly(shape, change.oldTuple);
  if (change.op === "d") {
    const oldTuple = change.oldTuple;
    const key = oldTuple ? keyJson(shape, oldTuple) : null;
    return [{ op: "d", key, value: envelope(before, null, src, tx, "d", nowMicros) }];
  }
  const newTuple = change.newTuple as Tuple;
  const after = encodeRow(shape, newTuple);
  const newKey = keyJson(shape, newTuple);
  if (change.op === "u" && change.oldTuple && shape.keyIndexes) {
    const oldKey = keyJson(shape, change.oldTuple);
    if (oldKey !== null && newKey !== null && oldKey !== newKey) {
      return [
        {
          op: "d",
          key: oldKey,
          value: envelope(before, null, src, tx, "d", nowMicros),
          headers: { "__debezium.newkey": newKey },
        },
        {
          op: "c",
          key: newKey,
          value: envelope(null, after, src, tx, "c", nowMicros),
          headers: { "__debezium.oldkey": oldKey },
        },
      ];
    }
  }
  return [{ op: change.op, key: newKey, value: envelope(before, after, src, tx, change.op, nowMicros) }];
}

/** A TRUNCATE of one table: key null, no before/after (Debezium's `t` event). */
export function encodeTruncate(
  ctx: EnvelopeContext,
  shape: TableShape,
  pos: ChangePosition,
  nowMicros: bigint,
): EncodedRecord {
  const src = source(ctx, shape, pos.commitTimeMicros, "false", pos.commitLsn, pos.lsn, pos.xid);
  return {
    op: "t",
    key: null,
    value: `{"source":${src},"transaction":${transactionText(pos)},"op":"t",${timeText(nowMicros)}}`,
  };
}
