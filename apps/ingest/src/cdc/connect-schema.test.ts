import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import { OID } from "./column-values.ts";
import { columnSchema } from "./connect-schema.ts";
import { type ColumnDescription, encodeChange, encodeTruncate, tableShape } from "./envelope.ts";
import { schemasOf, transactionTexts } from "./envelope-schema.ts";

/**
 * Debezium's own schemas for this table (golden/debezium-schema.golden.json, captured from the real
 * connector: a streamed delete after `ALTER TABLE … ADD COLUMN added int`):
 *   CREATE TYPE s.mood AS ENUM ('sad', 'ok', 'happy');
 *   CREATE TABLE s.types (id int PRIMARY KEY, i2 smallint, i8 bigint NOT NULL DEFAULT 5, n numeric(12,3),
 *     nv numeric, f4 real, f8 double precision, b boolean, t text DEFAULT 'x', vc varchar(20), c char(3),
 *     d date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3), tstz timestamptz, tstz3 timestamptz(3),
 *     tmtz timetz, iv interval, u uuid, j json, jb jsonb, by bytea, ia int[], ta text[], na numeric(5,2)[],
 *     e s.mood, bp bpchar, n50 numeric(50,10), n5 numeric(5));
 */
const golden = JSON.parse(readFileSync(join(import.meta.dir, "golden/debezium-schema.golden.json"), "utf8"));
const numeric = (p: number, s: number) => ((p << 16) | s) + 4;
const COLUMNS: ColumnDescription[] = [
  { name: "id", typeOid: OID.int4, notNull: true },
  { name: "i2", typeOid: OID.int2 },
  { name: "i8", typeOid: OID.int8, notNull: true, defaultText: "5" },
  { name: "n", typeOid: OID.numeric, typeMod: numeric(12, 3) },
  { name: "nv", typeOid: OID.numeric },
  { name: "f4", typeOid: OID.float4 },
  { name: "f8", typeOid: OID.float8 },
  { name: "b", typeOid: OID.bool },
  { name: "t", typeOid: OID.text, defaultText: "x" },
  { name: "vc", typeOid: OID.varchar, typeMod: 24 },
  { name: "c", typeOid: OID.bpchar, typeMod: 7 },
  { name: "d", typeOid: OID.date },
  { name: "tm", typeOid: OID.time },
  { name: "tm3", typeOid: OID.time, typeMod: 3 },
  { name: "ts", typeOid: OID.timestamp },
  { name: "ts3", typeOid: OID.timestamp, typeMod: 3 },
  { name: "tstz", typeOid: OID.timestamptz },
  { name: "tstz3", typeOid: OID.timestamptz, typeMod: 3 },
  { name: "tmtz", typeOid: 1266 },
  { name: "iv", typeOid: OID.interval },
  { name: "u", typeOid: OID.uuid },
  { name: "j", typeOid: OID.json },
  { name: "jb", typeOid: OID.jsonb },
  { name: "by", typeOid: OID.bytea },
  { name: "ia", typeOid: 1007 },
  { name: "ta", typeOid: 1009 },
  { name: "na", typeOid: 1231, typeMod: numeric(5, 2) },
  { name: "e", typeOid: 90_001, typeName: "mood", enumValues: ["sad", "ok", "happy"] },
  { name: "bp", typeOid: OID.bpchar },
  { name: "n50", typeOid: OID.numeric, typeMod: numeric(50, 10) },
  { name: "n5", typeOid: OID.numeric, typeMod: numeric(5, 0) },
  { name: "added", typeOid: OID.int4 },
];
const schemas = { ...DEFAULT_ENVELOPE, schemas: true };
const shape = tableShape("s", "types", COLUMNS, ["id"], schemas);
const ctx = { prefix: "dbz", db: "tributary", settings: schemas };

describe("Kafka Connect schemas (CDC_SCHEMAS=on)", () => {
  test("each PostgreSQL type's column schema is Debezium's, field for field (type, semantic name, source type, length, scale, default)", () => {
    const ours = JSON.parse(schemasOf(ctx, shape).value);
    const theirs = golden.value_schema;
    for (const [i, col] of COLUMNS.entries())
      expect({ column: col.name, schema: ours.fields[1].fields[i] }).toEqual({
        column: col.name,
        schema: theirs.fields[1].fields[i],
      });
    expect(ours.fields[1].fields).toHaveLength(theirs.fields[1].fields.length);
  });

  test("the envelope, key and transaction schemas are Debezium's, byte for byte", () => {
    const ours = schemasOf(ctx, shape);
    expect(ours.value).toBe(JSON.stringify(golden.value_schema));
    expect(ours.key).toBe(JSON.stringify(golden.key_schema));
    const tx = transactionTexts(
      { status: "BEGIN", id: "1:2", event_count: null, data_collections: null, ts_ms: 3 },
      true,
    );
    expect(JSON.parse(tx.key).schema).toEqual(golden.transaction_key_schema);
    expect(JSON.parse(tx.value).schema).toEqual(golden.transaction_value_schema);
    expect(JSON.parse(tx.value).payload.status).toBe("BEGIN");
  });

  test("numeric keeps its precision and scale; without a type modifier, Debezium's 131089 and 0", () => {
    const param = (typeMod: number) =>
      columnSchema({ name: "x", typeOid: OID.numeric, typeMod, notNull: false }, DEFAULT_ENVELOPE).parameters;
    expect(param(numeric(38, 10))).toMatchObject({
      "__debezium.source.column.length": "38",
      "__debezium.source.column.scale": "10",
    });
    expect(param(-1)).toMatchObject({
      "__debezium.source.column.length": "131089",
      "__debezium.source.column.scale": "0",
    });
  });

  test("the value encodings' settings choose Debezium's semantic types", () => {
    const of = (typeOid: number, typeMod: number, s: Partial<typeof DEFAULT_ENVELOPE>) => {
      const c = columnSchema({ name: "x", typeOid, typeMod, notNull: false }, { ...DEFAULT_ENVELOPE, ...s });
      return [c.type, c.name ?? null, c.parameters && (c.parameters as Record<string, string>).scale];
    };
    expect(of(OID.numeric, numeric(9, 2), { decimalHandlingMode: "precise" })).toEqual([
      "bytes",
      "org.apache.kafka.connect.data.Decimal",
      "2",
    ]);
    expect(of(OID.numeric, -1, { decimalHandlingMode: "precise" })).toEqual([
      "struct",
      "io.debezium.data.VariableScaleDecimal",
      undefined,
    ]);
    expect(of(OID.numeric, -1, { decimalHandlingMode: "double" })[0]).toBe("double");
    expect(of(OID.date, -1, { timePrecisionMode: "adaptive" })[1]).toBe("io.debezium.time.Date");
    expect(of(OID.date, -1, { timePrecisionMode: "connect" })[1]).toBe("org.apache.kafka.connect.data.Date");
    expect(of(OID.timestamp, -1, { timePrecisionMode: "adaptive" })).toEqual([
      "int64",
      "io.debezium.time.MicroTimestamp",
      undefined,
    ]);
    expect(of(OID.timestamp, 3, { timePrecisionMode: "adaptive" })[1]).toBe("io.debezium.time.Timestamp");
    expect(of(OID.time, 3, { timePrecisionMode: "adaptive" })).toEqual([
      "int32",
      "io.debezium.time.Time",
      undefined,
    ]);
    expect(of(OID.time, 3, { timePrecisionMode: "adaptive_time_microseconds" })[1]).toBe(
      "io.debezium.time.MicroTime",
    );
    expect(of(OID.interval, -1, { intervalHandlingMode: "numeric" })[1]).toBe(
      "io.debezium.time.MicroDuration",
    );
  });

  test("records carry {schema, payload}; null keys and tombstones stay null; schemas off changes nothing", () => {
    const pos = {
      xid: 7,
      commitLsn: 100n,
      lsn: 90n,
      commitTimeMicros: 1n,
      totalOrder: 1,
      dataCollectionOrder: 1,
    };
    const tuple = COLUMNS.map((c) => (c.name === "id" ? "1" : c.name === "i8" ? "5" : null));
    const change = { op: "d" as const, oldTuple: tuple, oldKind: "key" as const, newTuple: null };
    const on = encodeChange(ctx, shape, change, pos, 2n).records;
    expect(on.map((r) => r.value === null)).toEqual([false, true]);
    const value = JSON.parse(on[0]?.value as string);
    expect(Object.keys(value)).toEqual(["schema", "payload"]);
    expect(value.payload.op).toBe("d");
    expect(JSON.parse(on[1]?.key as string)).toEqual({ schema: golden.key_schema, payload: { id: 1 } });
    const off = encodeChange({ ...ctx, settings: DEFAULT_ENVELOPE }, shape, change, pos, 2n).records;
    expect(JSON.parse(off[0]?.value as string)).toEqual(value.payload);
    expect(off[0]?.key).toBe('{"id":1}');
    expect(encodeTruncate(ctx, shape, pos, 2n).key).toBeNull();
  });
});
