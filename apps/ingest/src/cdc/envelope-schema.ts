/**
 * The envelope's Kafka Connect JSON schemas (CDC_SCHEMAS=on): the table's key struct and its
 * envelope (`before`/`after` rows of connect-schema.ts columns, Debezium's `source` and
 * `transaction` blocks), the transaction topic's schemas, and the `{"schema","payload"}` wrapping
 * the JSON converter writes with `schemas.enable=true`. Read from Debezium 3.6.1's own output.
 */
import { type CdcEnvelopeSettings, DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import type { CdcTransactionEvent } from "@tributary/shared/contracts/cdc";
import { columnSchema, type Schema, type SchemaColumn } from "./connect-schema.ts";
import type { EncodedRecord, EnvelopeContext, TableShape } from "./envelope.ts";

/** The row struct (`<prefix>.<schema>.<table>.Value`) as `before` and `after` carry it. */
function rowSchema(
  prefix: string,
  schema: string,
  table: string,
  columns: readonly SchemaColumn[],
  s: CdcEnvelopeSettings,
  field: string,
): Schema {
  return {
    type: "struct",
    fields: columns.map((c) => columnSchema(c, s)),
    optional: true,
    name: `${prefix}.${schema}.${table}.Value`,
    field,
  };
}

const f = (type: string, optional: boolean, field: string): Schema => ({ type, optional, field });

const SOURCE_SCHEMA: Schema = {
  type: "struct",
  fields: [
    f("string", false, "version"),
    f("string", false, "connector"),
    f("string", false, "name"),
    f("int64", false, "ts_ms"),
    {
      type: "string",
      optional: true,
      name: "io.debezium.data.Enum",
      version: 1,
      parameters: {
        allowed: "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
      },
      default: "false",
      field: "snapshot",
    },
    f("string", false, "db"),
    f("string", true, "sequence"),
    f("int64", true, "ts_us"),
    f("int64", true, "ts_ns"),
    f("string", false, "schema"),
    f("string", false, "table"),
    f("int64", true, "txId"),
    f("int64", true, "lsn"),
    f("int64", true, "xmin"),
    f("string", true, "origin"),
    f("int64", true, "origin_lsn"),
  ],
  optional: false,
  name: "io.debezium.connector.postgresql.Source",
  version: 1,
  field: "source",
};

const TRANSACTION_BLOCK: Schema = {
  type: "struct",
  fields: [
    f("string", false, "id"),
    f("int64", false, "total_order"),
    f("int64", false, "data_collection_order"),
  ],
  optional: true,
  name: "event.block",
  version: 1,
  field: "transaction",
};

export interface TableSchemas {
  /** The key's schema as JSON text; null for a table without a key. */
  readonly key: string | null;
  /** The envelope's schema as JSON text. */
  readonly value: string;
}

/** The key and envelope schemas of one table (`keyIndexes`: the key columns' positions). */
export function tableSchemas(
  prefix: string,
  schema: string,
  table: string,
  columns: readonly SchemaColumn[],
  keyIndexes: readonly number[] | null,
  s: CdcEnvelopeSettings,
): TableSchemas {
  const key = keyIndexes
    ? {
        type: "struct",
        fields: keyIndexes.map((i) => {
          const c = columns[i] as SchemaColumn;
          const { parameters: _p, default: _d, ...field } = columnSchema(c, s);
          return { ...field, optional: false };
        }),
        optional: false,
        name: `${prefix}.${schema}.${table}.Key`,
      }
    : null;
  const value = {
    type: "struct",
    fields: [
      rowSchema(prefix, schema, table, columns, s, "before"),
      rowSchema(prefix, schema, table, columns, s, "after"),
      SOURCE_SCHEMA,
      TRANSACTION_BLOCK,
      f("string", false, "op"),
      f("int64", true, "ts_ms"),
      f("int64", true, "ts_us"),
      f("int64", true, "ts_ns"),
    ],
    optional: false,
    name: `${prefix}.${schema}.${table}.Envelope`,
    version: 2,
  };
  return { key: key ? JSON.stringify(key) : null, value: JSON.stringify(value) };
}

/** `{"schema":…,"payload":…}`: the Kafka Connect JSON converter's form with schemas enabled. */
export const withSchema = (schema: string, payload: string): string =>
  `{"schema":${schema},"payload":${payload}}`;

const TRANSACTION_KEY_SCHEMA = JSON.stringify({
  type: "struct",
  fields: [f("string", false, "id")],
  optional: false,
  name: "io.debezium.connector.common.TransactionMetadataKey",
  version: 1,
});

const TRANSACTION_VALUE_SCHEMA = JSON.stringify({
  type: "struct",
  fields: [
    f("string", false, "status"),
    f("string", false, "id"),
    f("int64", true, "event_count"),
    {
      type: "array",
      items: {
        type: "struct",
        fields: [f("string", false, "data_collection"), f("int64", false, "event_count")],
        optional: true,
        name: "event.collection",
        version: 1,
      },
      optional: true,
      field: "data_collections",
    },
    f("int64", false, "ts_ms"),
  ],
  optional: false,
  name: "io.debezium.connector.common.TransactionMetadataValue",
  version: 1,
});

/** A BEGIN/END event's key and value, with their schemas when `schemas` is on. */
export function transactionTexts(ev: CdcTransactionEvent, schemas: boolean): { key: string; value: string } {
  const key = JSON.stringify({ id: ev.id });
  const value = JSON.stringify(ev);
  return schemas
    ? { key: withSchema(TRANSACTION_KEY_SCHEMA, key), value: withSchema(TRANSACTION_VALUE_SCHEMA, value) }
    : { key, value };
}

const schemaCache = new WeakMap<TableShape, Map<string, TableSchemas>>();

/** The table's key and envelope schemas for this prefix (built once per shape). */
export function schemasOf(ctx: EnvelopeContext, shape: TableShape): TableSchemas {
  let byPrefix = schemaCache.get(shape);
  if (!byPrefix) {
    byPrefix = new Map();
    schemaCache.set(shape, byPrefix);
  }
  let schemas = byPrefix.get(ctx.prefix);
  if (!schemas) {
    const s = ctx.settings ?? DEFAULT_ENVELOPE;
    const columns = shape.columns.map((c) => c.schema);
    schemas = tableSchemas(ctx.prefix, shape.schema, shape.table, columns, shape.keyIndexes, s);
    byPrefix.set(ctx.prefix, schemas);
  }
  return schemas;
}

/**
 * With CDC_SCHEMAS=on, keys and values become the JSON converter's `{"schema","payload"}`; a null
 * key or value (keyless table, tombstone) stays null, as the converter writes it.
 */
export function withSchemas(ctx: EnvelopeContext, shape: TableShape, r: EncodedRecord): EncodedRecord {
  if (!(ctx.settings ?? DEFAULT_ENVELOPE).schemas) return r;
  const schemas = schemasOf(ctx, shape);
  return {
    ...r,
    key: r.key === null || schemas.key === null ? r.key : withSchema(schemas.key, r.key),
    value: r.value === null ? null : withSchema(schemas.value, r.value),
  };
}
