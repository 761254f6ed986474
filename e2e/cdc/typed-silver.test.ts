/**
 * Issue 15: typed silver for every CDC table. A real PostgreSQL table with numeric(p,s), numeric,
 * date, timestamp, timestamptz, time, interval, uuid, jsonb, bytea, int[] and an enum is captured by
 * the CDC source with CDC_SCHEMAS=on (Kafka Connect JSON with schemas, Debezium's form) into Kafka;
 * the records land in bronze and CDC silver types each column from the envelopes' schemas: the
 * DuckDB types are the mapped ones and every value equals `SELECT *` from PostgreSQL, compared as
 * text of the same canonical form. Then a column's type changes (ALTER … TYPE): silver keeps that
 * column as text and says why. The `time` column keeps silver a Hive tree with no Iceberg table:
 * Spark refuses any table holding an Iceberg time (docs/iceberg.md).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import type { TopicRecord } from "@tributary/ingest/cdc/testing/support";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import { loadConfig } from "@tributary/shared/config";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { landCdcSilver } from "./land-silver.ts";
import { capturePhases, type PhasedCapture } from "./phased-capture.ts";

const config = loadConfig();
const schema = uniqueName("typed");
const lake = createTempLake();
const ref = { schema, table: "matrix" };
let sql: pg.Client;

const INTERVAL_TEXT = `format('P%sY%sM%sDT%sH%sM%sS', ${["year", "month", "day", "hour", "minute"]
  .map((f) => `extract(${f} FROM iv)::int`)
  .join(", ")}, trim_scale(extract(second FROM iv)))`;

/** Each column: its DuckDB type in silver, and the same canonical text from PostgreSQL and DuckDB. */
const COLUMNS: readonly { name: string; duck: string; pg: string; lake: string }[] = [
  { name: "id", duck: "INTEGER", pg: "id::text", lake: "id::VARCHAR" },
  { name: "price", duck: "DECIMAL(18,2)", pg: "price::text", lake: "price::VARCHAR" },
  { name: "rate", duck: "DECIMAL(9,4)", pg: "rate::text", lake: "rate::VARCHAR" },
  // numeric without precision: exact text, as the envelope writes it (NaN is Debezium's "NAN")
  {
    name: "free",
    duck: "VARCHAR",
    pg: "CASE WHEN free = 'NaN' THEN 'NAN' ELSE free::text END",
    lake: "free",
  },
  { name: "wide", duck: "VARCHAR", pg: "wide::text", lake: "wide" }, // numeric(50,10): beyond DECIMAL(38)
  { name: "d", duck: "DATE", pg: "d::text", lake: "d::VARCHAR" },
  { name: "ts", duck: "TIMESTAMP", pg: "ts::text", lake: "ts::VARCHAR" },
  { name: "tstz", duck: "TIMESTAMP WITH TIME ZONE", pg: "tstz::text", lake: "tstz::VARCHAR" },
  { name: "tm", duck: "TIME", pg: "tm::text", lake: "tm::VARCHAR" },
  // ISO 8601 text with every component, as the envelope writes it (interval.handling.mode=string)
  { name: "iv", duck: "VARCHAR", pg: INTERVAL_TEXT, lake: "iv" },
  { name: "u", duck: "UUID", pg: "u::text", lake: "u::VARCHAR" },
  { name: "jb", duck: "JSON", pg: "jb::text", lake: "jb::VARCHAR" },
  { name: "bin", duck: "BLOB", pg: "encode(bin, 'hex')", lake: "lower(hex(bin))" },
  { name: "ia", duck: "INTEGER[]", pg: "array_to_json(ia)::text", lake: "to_json(ia)::VARCHAR" },
  { name: "e", duck: "VARCHAR", pg: "e::text", lake: "e" },
];

const ROW_1 = `(1, 4154.13, 6.1234, 1.10, 123456789012345678901234567890.1234567890, '2024-08-15',
  '2024-08-15 23:59:59.999999', '2024-08-15 06:00:00.5+00', '10:11:12.5', '1 year 2 months 3 days 04:05:06.5',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2.50]}', '\\x0102ff', '{1,NULL,3}', 'happy')`;

/** Records of the table's topic, split by the WAL position taken between the two phases. */
let phases: TopicRecord[][] = [[], []];
let capture: PhasedCapture;
/** The table as PostgreSQL had it at the end of the first phase. */
let atBoundary: unknown[] = [];

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-typed-test");
  for (const s of [
    `CREATE SCHEMA ${schema}`,
    `CREATE TYPE ${schema}.mood AS ENUM ('sad', 'ok', 'happy')`,
    `CREATE TABLE ${schema}.matrix (id int PRIMARY KEY, price numeric(18,2), rate numeric(9,4), free numeric,
      wide numeric(50,10), d date, ts timestamp, tstz timestamptz, tm time, iv interval, u uuid, jb jsonb,
      bin bytea, ia int[], e ${schema}.mood)`,
    `INSERT INTO ${schema}.matrix VALUES ${ROW_1}, (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  ])
    await sql.query(s);
  const t = `${schema}.matrix`;
  capture = await capturePhases(sql, {
    label: "typed",
    schema,
    tables: [ref.table],
    envelope: { ...DEFAULT_ENVELOPE, schemas: true },
    phases: [
      async () => {
        for (const s of [
          `INSERT INTO ${t} VALUES (3, -0.01, -1.0000, 'NaN', -1.5, '1999-12-31', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
        '00:00:00', '-1 days -00:00:01', '00000000-0000-0000-0000-000000000000', '[]', '\\x', '{}', 'sad')`,
          `UPDATE ${t} SET price = price + 1, ia = '{7}' WHERE id = 1`,
          `DELETE FROM ${t} WHERE id = 2`,
        ])
          await sql.query(s);
        atBoundary = await pgRows();
      },
      async () => {
        await sql.query(`ALTER TABLE ${t} ALTER COLUMN rate TYPE numeric(12,4)`);
        await sql.query(`UPDATE ${t} SET rate = 12345678.1234 WHERE id = 3`);
      },
    ],
  });
  phases = capture.phases(ref.table);
}, 120_000);

afterAll(async () => {
  await capture?.close();
  await sql.end();
  lake.cleanup();
}, 60_000);

async function land(records: readonly TopicRecord[]) {
  return await landCdcSilver(lake, records, ref);
}

const silverTypes = async (): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await lake.query(`DESCRIBE SELECT * FROM ${lake.scan("silver", cdcDatasetName(ref))}`)).map((r) => [
      String(r.column_name),
      String(r.column_type),
    ]),
  );

/** Every row of the table as canonical text, sorted by id. */
async function pgRows(): Promise<unknown[]> {
  const res = await sql.query(
    `SELECT ${COLUMNS.map((c) => `${c.pg} AS ${c.name}`).join(", ")} FROM ${schema}.matrix ORDER BY id`,
  );
  return res.rows;
}

/** Every row of silver's current state as the same canonical text, sorted by id. */
const silverRows = (): Promise<unknown[]> =>
  lake.query(
    `SELECT ${COLUMNS.map((c) => `${c.lake} AS "${c.name}"`).join(", ")} FROM ${lake.scan("silver", cdcDatasetName(ref))} ORDER BY id`,
  );

describe("typed CDC silver from the envelopes' schemas (CDC_SCHEMAS=on)", () => {
  test("the topic carries Debezium's {schema, payload} form", () => {
    expect(phases[0]?.length).toBe(5); // 2 snapshot reads, insert, update, delete
    for (const r of phases[0] ?? []) {
      expect(Object.keys(JSON.parse(r.value as string))).toEqual(["schema", "payload"]);
      expect(Object.keys(JSON.parse(r.key as string))).toEqual(["schema", "payload"]);
    }
  });

  test("silver columns have the mapped DuckDB types and the values of SELECT * FROM the table", async () => {
    const result = await land(phases[0] ?? []);
    expect(result.rows).toBe(2);
    expect(result.textColumns).toEqual({});
    const types = await silverTypes();
    for (const c of COLUMNS)
      expect({ column: c.name, type: types[c.name] }).toEqual({ column: c.name, type: c.duck });
    expect(atBoundary).toHaveLength(2);
    expect(await silverRows()).toEqual(atBoundary);
    // A TIME column: no Iceberg table for silver, which its Hive tree (read above) holds whole.
    expect(
      await new EmbeddedCatalog(lake.store).load({ namespace: "silver", name: cdcDatasetName(ref) }),
    ).toBe(undefined);
  }, 60_000);

  test("a column whose type changed is kept as exact text, and silver says why", async () => {
    const result = await land(phases[1] ?? []);
    expect(result.rebuilt).toBe(true);
    expect(result.textColumns).toEqual({ rate: "type changed: DECIMAL(12,4), DECIMAL(9,4)" });
    const types = await silverTypes();
    expect(types.rate).toBe("VARCHAR");
    expect(types.price).toBe("DECIMAL(18,2)");
    expect(await silverRows()).toEqual(await pgRows());
  }, 60_000);
});
