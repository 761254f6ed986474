/**
 * Issue 15: where the current state cannot be known, silver says so instead of guessing. A real
 * PostgreSQL table is captured by the CDC source into Kafka; the topic's records land in bronze in
 * up to four commits (one per phase of the script) and CDC silver runs after each. Rows that existed
 * before `ADD COLUMN c … DEFAULT 7` and never changed after it get no change event (logical decoding
 * carries no DDL), so silver shows their c as null with `_absent_columns = ['c']`, while rows whose
 * newest image carries c show its value with `_absent_columns = []`; a later DROP COLUMN leaves the
 * current state. Keyed fold: keyed.sql.ts (rebuild and incremental runs); keyless: replay.sql.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import type { CdcSilverResult } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { landCdcSilver } from "./land-silver.ts";
import { capturePhases, type PhasedCapture } from "./phased-capture.ts";

const config = loadConfig();
const schema = uniqueName("absent");
const lake = createTempLake();
const keyed = { schema, table: "accounts" };
const keyless = { schema, table: "notes" };
let sql: pg.Client;

/**
 * The script, one entry per phase; each phase's records become one bronze commit. Phase 0 also
 * holds the snapshot of the rows inserted before capture starts.
 */
const PHASES: readonly (readonly string[])[] = [
  [`INSERT INTO ${schema}.accounts VALUES (3, 'three', 'g3')`],
  [
    `ALTER TABLE ${schema}.accounts ADD COLUMN c int DEFAULT 7`,
    `UPDATE ${schema}.accounts SET label = 'two!' WHERE id = 2`,
    `INSERT INTO ${schema}.accounts (id, label, gone, c) VALUES (4, 'four', 'g4', 40)`,
    `ALTER TABLE ${schema}.notes ADD COLUMN c int DEFAULT 7`,
    `INSERT INTO ${schema}.notes VALUES ('new', 'g', 30)`,
  ],
  [`UPDATE ${schema}.accounts SET label = 'four!' WHERE id = 4`],
  [
    `ALTER TABLE ${schema}.accounts DROP COLUMN gone`,
    `INSERT INTO ${schema}.accounts (id, label) VALUES (5, 'five')`,
    `ALTER TABLE ${schema}.notes DROP COLUMN gone`,
    `INSERT INTO ${schema}.notes (note) VALUES ('after drop')`,
  ],
];

let capture: PhasedCapture;

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-absent-test");
  for (const s of [
    `CREATE SCHEMA ${schema}`,
    `CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, label text, gone text)`,
    `INSERT INTO ${schema}.accounts VALUES (1, 'one', 'g1'), (2, 'two', 'g2')`,
    `CREATE TABLE ${schema}.notes (note text, gone text)`,
    `INSERT INTO ${schema}.notes VALUES ('a', 'g'), ('b', 'g')`,
  ])
    await sql.query(s);
  capture = await capturePhases(sql, {
    label: "absent",
    schema,
    tables: [keyed.table, keyless.table],
    phases: PHASES.map((statements) => async () => {
      for (const s of statements) await sql.query(s);
    }),
  });
}, 120_000);

afterAll(async () => {
  await capture?.close();
  await sql.end();
  lake.cleanup();
}, 60_000);

/** Commits one phase's records of `t`'s topic as bronze and runs CDC silver for `t`. */
async function phase(t: typeof keyed, index: number): Promise<CdcSilverResult> {
  const records = capture.phases(t.table)[index] ?? [];
  return await landCdcSilver(lake, records, t);
}

const current = (t: typeof keyed, columns: string, order: string) =>
  lake.query(
    `SELECT ${columns}, _absent_columns FROM ${lake.scan("silver", cdcDatasetName(t))} ORDER BY ${order}`,
  );

const columnsOf = async (t: typeof keyed): Promise<string[]> =>
  (await lake.query(`DESCRIBE SELECT * FROM ${lake.scan("silver", cdcDatasetName(t))}`)).map((r) =>
    String(r.column_name),
  );

describe("CDC silver _absent_columns", () => {
  test("the capture delivered each phase's changes", () => {
    const counts = (t: typeof keyed) => capture.phases(t.table).map((p) => p.length);
    expect(counts(keyed)).toEqual([3, 2, 1, 1]); // 2 snapshot reads + insert; update + insert; update; insert
    expect(counts(keyless)).toEqual([2, 1, 0, 1]);
  });

  test("keyed: rows unchanged since ADD COLUMN … DEFAULT name the column absent and show null", async () => {
    const before = await phase(keyed, 0);
    expect(before.rows).toBe(3);
    expect(await current(keyed, "id, label, gone", "id::INTEGER")).toEqual([
      { id: "1", label: "one", gone: "g1", _absent_columns: [] },
      { id: "2", label: "two", gone: "g2", _absent_columns: [] },
      { id: "3", label: "three", gone: "g3", _absent_columns: [] },
    ]);

    // ADD COLUMN c DEFAULT 7, then row 2 updated and row 4 inserted: only their images carry c.
    const added = await phase(keyed, 1);
    expect(added.rebuilt).toBe(true); // a new column moves the frame
    const afterAdd = [
      { id: "1", label: "one", c: null, _absent_columns: ["c"] }, // snapshot read, never changed
      { id: "2", label: "two!", c: "7", _absent_columns: [] },
      { id: "3", label: "three", c: null, _absent_columns: ["c"] }, // streamed insert, never changed
      { id: "4", label: "four", c: "40", _absent_columns: [] },
    ];
    expect(await current(keyed, "id, label, c", "id::INTEGER")).toEqual(afterAdd);
    // PostgreSQL itself reads the default for the untouched rows: silver shows null, not a guess.
    const pg = await sql.query(`SELECT id, c FROM ${schema}.accounts WHERE id IN (1, 3) ORDER BY id`);
    expect(pg.rows).toEqual([
      { id: 1, c: 7 },
      { id: 3, c: 7 },
    ]);

    // An incremental run that rewrites the group keeps the untouched rows' absent columns.
    const incremental = await phase(keyed, 2);
    expect(incremental.rebuilt).toBe(false);
    expect(incremental.events).toBe(1);
    expect(await current(keyed, "id, label, c", "id::INTEGER")).toEqual(
      afterAdd.map((r) => (r.id === "4" ? { ...r, label: "four!" } : r)),
    );

    // DROP COLUMN gone, then row 5 inserted (its image carries the default of c).
    const dropped = await phase(keyed, 3);
    expect(dropped.rebuilt).toBe(true);
    expect(await columnsOf(keyed)).toEqual([
      "id",
      "label",
      "c",
      "_op",
      "_lsn",
      "_commit_ts",
      "_absent_columns",
    ]);
    expect(await current(keyed, "id, label, c", "id::INTEGER")).toEqual([
      { id: "1", label: "one", c: null, _absent_columns: ["c"] },
      { id: "2", label: "two!", c: "7", _absent_columns: [] },
      { id: "3", label: "three", c: null, _absent_columns: ["c"] },
      { id: "4", label: "four!", c: "40", _absent_columns: [] },
      { id: "5", label: "five", c: "7", _absent_columns: [] },
    ]);
  }, 60_000);

  test("keyless: rows inserted before ADD COLUMN … DEFAULT show null, and DROP COLUMN leaves the current state", async () => {
    await phase(keyless, 0);
    const added = await phase(keyless, 1);
    expect(added.rows).toBe(3);
    expect(await current(keyless, "note, c", "note")).toMatchObject([
      { note: "a", c: null },
      { note: "b", c: null },
      { note: "new", c: "30", _absent_columns: [] },
    ]);

    await phase(keyless, 3);
    expect(await columnsOf(keyless)).toEqual(["note", "c", "_op", "_lsn", "_commit_ts", "_absent_columns"]);
    expect(await current(keyless, "note, c", "note")).toMatchObject([
      { note: "a", c: null },
      { note: "after drop", c: "7", _absent_columns: [] },
      { note: "b", c: null },
      { note: "new", c: "30", _absent_columns: [] },
    ]);
  }, 60_000);

  // The keyless fold (createMultisetVersionsSql, replay.sql.ts) takes the carried columns from each
  // image itself: its row_json lists every current column, so json_keys of it would always list c.
  test("keyless: rows inserted before ADD COLUMN … DEFAULT name the column absent", async () => {
    expect(await current(keyless, "note", "note")).toEqual([
      { note: "a", _absent_columns: ["c"] },
      { note: "after drop", _absent_columns: [] },
      { note: "b", _absent_columns: ["c"] },
      { note: "new", _absent_columns: [] },
    ]);
  });
});
