/**
 * Issue 15: silver for tables without a primary key, incremental and exact. Two keyless PostgreSQL
 * tables (REPLICA IDENTITY FULL, and DEFAULT: insert-only) are captured by the CDC source; each phase
 * of the script lands as bronze and CDC silver runs after it, and silver's rows must equal
 * `SELECT … FROM` the table in PostgreSQL at that moment, duplicates included.
 *
 * COPY writes its rows with one WAL record (heap_multi_insert), so every row of a COPY has the same
 * LSN: equal rows of one COPY differ only by their place in the transaction (`total_order`), and a
 * COPY's events can be split across two bronze commits. A replay (the source sending events again
 * at new Kafka offsets) must change nothing, and the incremental runs must give what one rebuild
 * from all of bronze gives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import type { TopicRecord } from "@tributary/ingest/cdc/testing/support";
import { cdcDatasetName, cdcHistoryDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { landCdcSilver } from "./land-silver.ts";
import { capturePhases, type PhasedCapture } from "./phased-capture.ts";

const config = loadConfig();
const schema = uniqueName("keyless");
const full = { schema, table: "tally" };
const insertOnly = { schema, table: "feed" };
const TABLES = [full, insertOnly] as const;
type Table = (typeof TABLES)[number];
let sql: pg.Client;

/** `COPY <table> FROM` rows given as tab-separated lines (one WAL record for all of them). */
const copy = (table: string, lines: readonly string[]): string =>
  `COPY ${schema}.${table} FROM PROGRAM 'printf ''${lines.join("\\n")}\\n'''`;

/** The script; phase 0 also holds the snapshot of the rows inserted before the capture starts. */
const PHASES: readonly (readonly string[])[] = [
  [`INSERT INTO ${schema}.tally VALUES ('a', 1)`],
  [copy("tally", ["c\t3", "c\t3", "d\t4", "c\t3"]), copy("feed", ["y\t2", "y\t2"])],
  [
    "BEGIN",
    `INSERT INTO ${schema}.tally VALUES ('a', 1)`,
    `DELETE FROM ${schema}.tally WHERE ctid = (SELECT min(ctid) FROM ${schema}.tally WHERE note = 'c')`,
    `UPDATE ${schema}.tally SET n = 5 WHERE note = 'd'`,
    copy("feed", ["z\t3", "y\t2"]),
    "COMMIT",
  ],
  [`DELETE FROM ${schema}.tally WHERE note = 'a'`, `INSERT INTO ${schema}.feed VALUES ('x', 1)`],
  [`TRUNCATE ${schema}.tally`, copy("tally", ["e\t6", "e\t6"]), copy("feed", ["w\t9"])],
];

/** PostgreSQL's rows of each table after each phase (taken as the script runs). */
const expected = new Map<string, { note: string; n: string }[][]>(TABLES.map((t) => [t.table, []]));
let capture: PhasedCapture;
const lakes: TempLake[] = [];

const pgRows = async (t: Table) =>
  (await sql.query(`SELECT note, n::text AS n FROM ${schema}.${t.table} ORDER BY note, n`)).rows as {
    note: string;
    n: string;
  }[];

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-keyless-test");
  for (const s of [
    `CREATE SCHEMA ${schema}`,
    `CREATE TABLE ${schema}.tally (note text, n int)`,
    `ALTER TABLE ${schema}.tally REPLICA IDENTITY FULL`,
    `INSERT INTO ${schema}.tally VALUES ('a', 1), ('a', 1), ('b', 2)`,
    `CREATE TABLE ${schema}.feed (note text, n int)`,
    `INSERT INTO ${schema}.feed VALUES ('x', 1)`,
  ])
    await sql.query(s);
  capture = await capturePhases(sql, {
    label: "keyless",
    schema,
    tables: TABLES.map((t) => t.table),
    phases: PHASES.map((statements) => async () => {
      for (const s of statements) await sql.query(s);
      for (const t of TABLES) expected.get(t.table)?.push(await pgRows(t));
    }),
  });
}, 120_000);

afterAll(async () => {
  await capture?.close();
  await sql.end();
  for (const lake of lakes) lake.cleanup();
}, 60_000);

const newLake = (): TempLake => {
  const lake = createTempLake();
  lakes.push(lake);
  return lake;
};

const silverRows = async (lake: TempLake, t: Table) =>
  await lake.query(
    `SELECT note, n::VARCHAR AS n FROM ${lake.scan("silver", cdcDatasetName(t))} ORDER BY note, n`,
  );

/** Every column of silver's current rows, or of its history, in a stable order. */
const everything = async (lake: TempLake, dataset: string) =>
  await lake.query(`SELECT * FROM ${lake.scan("silver", dataset)} ORDER BY ALL`);

/**
 * The change records again at offsets after every real one: what a source replay (from its
 * confirmed LSN, after a crash) leaves in Kafka. Snapshot reads are not replayed: an interrupted
 * snapshot is taken again at a new consistent point, which replaces the old one in silver.
 */
const replayed = (records: readonly TopicRecord[]): TopicRecord[] =>
  records
    .filter((r) => (JSON.parse(r.value ?? "{}") as { op?: string }).op !== "r")
    .map((r) => ({ ...r, offset: String(Number(r.offset) + 100_000) }));

describe.each(TABLES.map((t) => [t.table, t] as const))("keyless CDC silver: %s", (_, t) => {
  const incremental = newLake();

  test("each phase's silver equals the PostgreSQL table, duplicates included, runs after the first incremental", async () => {
    const phases = capture.phases(t.table);
    expect(phases.length).toBe(PHASES.length);
    for (const [i, records] of phases.entries()) {
      // The COPY phase lands in two bronze commits that split its rows (which share one LSN).
      const parts = i === 1 ? [records.slice(0, 2), records.slice(2)] : [records];
      for (const part of parts) {
        const run = await landCdcSilver(incremental, part, t);
        expect({ phase: i, rebuilt: run.rebuilt }).toEqual({ phase: i, rebuilt: i === 0 });
      }
      expect({ phase: i, rows: await silverRows(incremental, t) }).toEqual({
        phase: i,
        rows: expected.get(t.table)?.[i] ?? [],
      });
    }
  }, 120_000);

  test("a replay of every event already folded changes nothing and is not a rebuild", async () => {
    const before = await everything(incremental, cdcDatasetName(t));
    const history = await everything(incremental, cdcHistoryDatasetName(t));
    const run = await landCdcSilver(incremental, replayed(capture.phases(t.table).flat()), t);
    expect({ rebuilt: run.rebuilt, events: run.events }).toEqual({ rebuilt: false, events: 0 });
    expect(await everything(incremental, cdcDatasetName(t))).toEqual(before);
    expect(await everything(incremental, cdcHistoryDatasetName(t))).toEqual(history);
  }, 120_000);

  test("the incremental runs give what one rebuild from all of bronze gives, history included", async () => {
    const rebuilt = newLake();
    const run = await landCdcSilver(rebuilt, capture.phases(t.table).flat(), t);
    expect(run.rebuilt).toBe(true);
    for (const dataset of [cdcDatasetName(t), cdcHistoryDatasetName(t)])
      expect({ dataset, rows: await everything(incremental, dataset) }).toEqual({
        dataset,
        rows: await everything(rebuilt, dataset),
      });
  }, 120_000);

  test("events from a second Kafka partition make the run a rebuild (partitions have no common order), with the same rows", async () => {
    const before = await everything(incremental, cdcDatasetName(t));
    const elsewhere = replayed(capture.phases(t.table).flat()).map((r) => ({ ...r, partition: 1 }));
    const run = await landCdcSilver(incremental, elsewhere, t);
    expect(run.rebuilt).toBe(true);
    expect(await everything(incremental, cdcDatasetName(t))).toEqual(before);
  }, 120_000);
});
