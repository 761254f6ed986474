/**
 * Issue 15: a primary-key change that leaves a TOASTed column alone. A real PostgreSQL table (a
 * composite key, a large text stored out of line) is captured by the CDC source into Kafka (six
 * partitions); PostgreSQL sends the new row with the large value marked unchanged, so the create of
 * the new key carries Debezium's placeholder (as Debezium's does). Each phase of the script lands in
 * bronze and CDC silver runs: once as one commit per phase, once one Kafka partition at a time with
 * silver after each (a key change's delete and create sit in different partitions, so silver sees
 * them in different runs, in either order). After every phase silver equals `SELECT *` row for row.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import { encodedRows } from "@tributary/ingest/cdc/testing/support";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { loadConfig } from "@tributary/shared/config";
import { type CdcRow, UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { landCdcSilver } from "./land-silver.ts";
import { capturePhases, type PhasedCapture } from "./phased-capture.ts";

const config = loadConfig();
const schema = uniqueName("toastmv");
const docs = { schema, table: "docs" };
const q = `${schema}.docs`;
const lakes: TempLake[] = [];
let sql: pg.Client;

/** 4,000 characters of random hex (md5 chains): incompressible, and stored out of line (STORAGE EXTERNAL). */
const big = (seed: string) => `(SELECT string_agg(md5('${seed}' || i), '') FROM generate_series(1, 125) i)`;
const move = (from: string, to: string) => `UPDATE ${q} SET ${to} WHERE ${from}`;

/** The script, one entry per phase (each a list of transactions); phase 0 follows the snapshot. */
const PHASES: readonly (readonly (readonly string[])[])[] = [
  // The same run as the snapshot: an insert and a change of its key.
  [[`INSERT INTO ${q} VALUES ('b', 1, ${big("b1")}, 1)`], [move("grp = 'b' AND id = 1", "id = 2")]],
  [
    // Later runs: the old key's state is in silver's output, not in the batch.
    [move("grp = 'a' AND id = 1", "id = 101")],
    // A chain in one transaction: a → b → c.
    [move("grp = 'a' AND id = 2", "id = 102"), move("grp = 'a' AND id = 102", "id = 202")],
    // A key change that also rewrites the large value: the new one.
    [`UPDATE ${q} SET id = 103, big = ${big("new3")} WHERE grp = 'a' AND id = 3`],
    // A key change, then a delete of the new key.
    [move("grp = 'a' AND id = 4", "id = 104")],
    [`DELETE FROM ${q} WHERE grp = 'a' AND id = 104`],
    // A key change with another column, then an update that leaves the large value alone.
    [move("grp = 'a' AND id = 5", "id = 105, n = 50")],
    [`UPDATE ${q} SET n = 51 WHERE grp = 'a' AND id = 105`],
  ],
  [
    // A key moved again a run later; the other key column changed; the old key used again.
    [move("grp = 'a' AND id = 101", "id = 201")],
    [move("grp = 'a' AND id = 6", "grp = 'c'")],
    [`INSERT INTO ${q} VALUES ('a', 6, 'short', 6)`],
    [move("grp = 'c' AND id = 6", "id = 7")],
  ],
];

/** `SELECT *` (as silver's text) after each phase. */
const tables: string[][] = [];

/** A row as silver's text columns hold it (no declared schema): strings as they are, anything else as JSON text. */
const silverText = (row: CdcRow): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(row).map(([c, v]) => [c, v === null || typeof v === "string" ? v : JSON.stringify(v)]),
    ),
  );

let capture: PhasedCapture;

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-toast-move-test");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${q} (grp text, id int, big text, n int, PRIMARY KEY (grp, id))`);
  await sql.query(`ALTER TABLE ${q} ALTER COLUMN big SET STORAGE EXTERNAL`);
  for (let id = 1; id <= 6; id++)
    await sql.query(`INSERT INTO ${q} VALUES ('a', ${id}, ${big(`a${id}`)}, ${id})`);
  capture = await capturePhases(sql, {
    label: "tmv",
    schema,
    tables: [docs.table],
    kafka: { topicPartitions: 6 },
    phases: PHASES.map((phase) => async () => {
      for (const tx of phase) {
        await sql.query("BEGIN");
        for (const s of tx) await sql.query(s);
        await sql.query("COMMIT");
      }
      tables.push((await encodedRows(sql, docs)).map((r) => silverText(r.row)).sort());
    }),
  });
}, 120_000);

afterAll(async () => {
  await capture?.close();
  await sql.end();
  for (const l of lakes) l.cleanup();
}, 60_000);

async function silverRows(lake: TempLake): Promise<string[]> {
  const rows = await lake.query(
    `SELECT * EXCLUDE (_op, _lsn, _commit_ts, _absent_columns) FROM ${lake.scan("silver", cdcDatasetName(docs))}`,
  );
  return rows.map((r) => JSON.stringify(r)).sort();
}

test("the key changes' creates carry the unchanged-TOAST placeholder, in partitions other than their deletes'", () => {
  const creates = capture
    .phases(docs.table)
    .flat()
    .filter((r) => JSON.parse(r.value as string).op === "c");
  const placeholders = creates.filter((r) => JSON.parse(r.value as string).after.big === UNAVAILABLE_VALUE);
  expect(placeholders.length).toBe(9); // every key change but the one that rewrites the large value
  expect(
    new Set(
      capture
        .phases(docs.table)
        .flat()
        .map((r) => r.partition),
    ).size,
  ).toBeGreaterThan(1);
});

test("silver equals SELECT * after every phase: one bronze commit per phase", async () => {
  const lake = createTempLake();
  lakes.push(lake);
  for (const [i, records] of capture.phases(docs.table).entries()) {
    const run = await landCdcSilver(lake, records, docs);
    expect(run.pending).toBe(0);
    expect({ phase: i, rows: await silverRows(lake) }).toEqual({ phase: i, rows: tables[i] ?? [] });
  }
}, 60_000);

test("silver equals SELECT * after every phase: one Kafka partition per commit, silver after each", async () => {
  const lake = createTempLake();
  lakes.push(lake);
  let held = 0;
  for (const [i, records] of capture.phases(docs.table).entries()) {
    // Highest partition first, so some creates land before their deletes and some after.
    let pending = 0;
    for (const p of [...new Set(records.map((r) => r.partition))].sort((a, b) => b - a)) {
      pending = (
        await landCdcSilver(
          lake,
          records.filter((r) => r.partition === p),
          docs,
        )
      ).pending;
      held += pending;
    }
    expect(pending).toBe(0);
    expect({ phase: i, rows: await silverRows(lake) }).toEqual({ phase: i, rows: tables[i] ?? [] });
  }
  console.log(JSON.stringify({ held_key_change_events: held }));
}, 60_000);
