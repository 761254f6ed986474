import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropSlot, openSqlClient, tableInfo } from "@tributary/ingest/cdc/catalog";
import { encodeRow, tableShape } from "@tributary/ingest/cdc/envelope";
import { readSnapshot } from "@tributary/ingest/cdc/snapshot";
import { CdcSource } from "@tributary/ingest/cdc/source";
import {
  compareTable,
  type EventDiff,
  normaliseRecord,
  normaliseTransaction,
} from "@tributary/ingest/cdc/testing/debezium-diff";
import { readTopics, type TopicRecord } from "@tributary/ingest/cdc/testing/support";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { debeziumConnectorConfig } from "@tributary/shared/cdc/debezium-connector";
import { loadConfig } from "@tributary/shared/config";
import { cdcTransactionTopic } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { uniqueName } from "@tributary/shared/testing/names";
import {
  type ConnectWorker,
  deleteConnector,
  putConnector,
  startConnectWorker,
  waitConnectorRunning,
} from "@tributary/stack/connect";
import type pg from "pg";

// The same tables captured by the real Debezium (Kafka Connect 4.3.1 + Debezium 3.6.1.Final, one
// JVM for this file) and by Tributary, with the same envelope settings: every event must be equal
// but for the fields docs/cdc.md lists (testing/debezium-diff.ts NORMALISED).
const config = loadConfig();
const kafka = createKafka({ ...config.kafka }, "cdc-dbz-test");
const kafkaConfig = { ...config.kafka, topicPartitions: 1 }; // one partition per topic: a total order to compare
const schema = uniqueName("dbz");
const tribPrefix = uniqueName("trib");
const dbzPrefix = uniqueName("dbzp");
const tribSlot = uniqueName("tslot");
const dbzSlot = uniqueName("dslot");
const stateDir = mkdtempSync(join(tmpdir(), "tributary-dbz-"));
const log = createLogger("cdc-dbz-test", "warn");
const TABLES = ["types", "toast", "keyless_default", "keyless_full", "moves"] as const;
const tableList = TABLES.map((t) => `${schema}.${t}`);
const CONNECTOR = uniqueName("conn");
let sql: pg.Client;
let worker: ConnectWorker | undefined;
const abort = new AbortController();
let running: Promise<void> | undefined;

async function exec(...statements: string[]): Promise<void> {
  for (const s of statements) await sql.query(s);
}

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-dbz-test");
  const workerStart = startConnectWorker({
    dir: join(stateDir, "connect"),
    stateDir: config.stateDir,
    brokers: config.kafka.brokers,
    port: freePort(),
    kafkaVersion: config.stack.kafkaVersion,
  });
  await exec(
    `CREATE SCHEMA ${schema}`,
    `CREATE TYPE ${schema}.mood AS ENUM ('sad', 'ok', 'happy')`,
    `CREATE TABLE ${schema}.types (
      id int PRIMARY KEY, i2 smallint, i8 bigint, n numeric(12,3), nv numeric, f4 real, f8 double precision,
      b boolean, t text, vc varchar(20), c char(3), d date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3),
      tstz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea, ia int[], ta text[], e ${schema}.mood)`,
    `CREATE TABLE ${schema}.toast (id int PRIMARY KEY, big text, small int)`,
    `ALTER TABLE ${schema}.toast ALTER COLUMN big SET STORAGE EXTERNAL`,
    `CREATE TABLE ${schema}.keyless_default (note text, n int)`,
    `CREATE TABLE ${schema}.keyless_full (note text, n int)`,
    `ALTER TABLE ${schema}.keyless_full REPLICA IDENTITY FULL`,
    `CREATE TABLE ${schema}.moves (id int PRIMARY KEY, label text NOT NULL, qty int)`,
    // Rows before capture starts: snapshot reads.
    `INSERT INTO ${schema}.types VALUES (1, 7, 9007199254740993, 4154.130, 1.10, 1.5, 0.1, true, 'a''b', 'vc', 'abc',
      '2024-08-15', '10:11:12.5', '10:11:12.123', '2024-08-15 23:59:59.999999', '2024-08-15 10:11:12.123',
      '2024-08-15 06:00:00.5+00', '1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '{"a": 1.10}', '{"b": [1, 2.50]}', '\\x0102ff', '{1,NULL,3}', '{"x y",NULL}', 'happy')`,
    `INSERT INTO ${schema}.types (id) VALUES (2)`,
    `INSERT INTO ${schema}.toast VALUES (1, repeat('x', 10000), 1)`,
    `INSERT INTO ${schema}.keyless_default VALUES ('kept', 1), ('kept', 1)`,
    `INSERT INTO ${schema}.keyless_full VALUES ('dup', 1), ('dup', 1), ('solo', 2)`,
    `INSERT INTO ${schema}.moves VALUES (1, 'one', 10), (2, 'two', 20)`,
  );
  worker = await workerStart;
  const envelope = config.cdc.envelope;
  await putConnector(worker.url, CONNECTOR, {
    ...debeziumConnectorConfig({
      pgUrl: config.postgres.url,
      tables: tableList,
      topicPrefix: dbzPrefix,
      slot: dbzSlot,
      envelope,
      topicPartitions: 1,
      replicationFactor: 1,
    }),
  });
  const source = new CdcSource({
    pgUrl: config.postgres.url,
    kafka,
    kafkaConfig,
    prefix: tribPrefix,
    slot: tribSlot,
    publication: tribSlot,
    tables: tableList,
    stateDir,
    log,
    envelope,
  });
  running = source.run(abort.signal);
  await waitConnectorRunning(worker.url, CONNECTOR, 120_000);
  for (let i = 0; i < 600 && source.metrics.state !== "streaming"; i++) await Bun.sleep(100);
  // Debezium's snapshot is done when its slot is active (it streams right after).
  for (let i = 0; i < 600; i++) {
    const res = await sql.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [dbzSlot]);
    if (res.rows[0]?.active) break;
    await Bun.sleep(100);
  }
}, 240_000);

afterAll(async () => {
  abort.abort();
  await running?.catch(() => undefined);
  if (worker) {
    await deleteConnector(worker.url, CONNECTOR).catch(() => undefined);
    await worker.stop();
  }
  await dropSlot(sql, tribSlot).catch(() => undefined);
  await dropSlot(sql, dbzSlot).catch(() => undefined);
  await sql.query(`DROP PUBLICATION IF EXISTS ${tribSlot}`).catch(() => undefined);
  await sql.query(`DROP PUBLICATION IF EXISTS ${dbzSlot}`).catch(() => undefined);
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await sql.end();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

/**
 * `SELECT * FROM` the table, each value as silver's text column holds it: the envelope's JSON value
 * (Tributary's encoder, default settings), strings as they are, anything else as its JSON text.
 */
async function pgRows(table: string): Promise<string[]> {
  const info = await tableInfo(sql, { schema, table });
  if (!info) throw new Error(`no table ${table}`);
  const shape = tableShape(info.schema, info.table, info.columns, info.primaryKey);
  const out: string[] = [];
  await sql.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    for await (const batch of readSnapshot(sql, [info])) {
      for (const tuple of batch.rows) {
        const row = encodeRow(shape, tuple);
        const text = Object.fromEntries(
          Object.entries(row).map(([c, v]) => [
            c,
            v === null || typeof v === "string" ? v : JSON.stringify(v),
          ]),
        );
        out.push(JSON.stringify(text));
      }
    }
  } finally {
    await sql.query("COMMIT");
  }
  return out.sort();
}

/** Silver's current state of `table` built from one tool's topic, rows as JSON text, sorted. */
async function silverRows(records: readonly TopicRecord[], prefix: string, table: string): Promise<string[]> {
  const lake = createTempLake();
  try {
    const ref = { schema, table };
    const bronze = records
      .filter((r) => r.topic === cdcTopic(prefix, schema, table) && r.value !== null)
      .map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: Number(r.offset),
        key: r.key,
        value: r.value as string,
        ingestedAt: 1_800_000_000_000_000n,
        eventTs: 1_800_000_000_000_000n,
        symbol: "ALL",
      }));
    await commitBronze(lake.commitLog, bronze, { dataset: cdcDatasetName(ref) });
    await runCdcSilver(lake.env, ref);
    const rows = await lake.query(
      `SELECT * EXCLUDE (_op, _lsn, _commit_ts, _absent_columns) FROM ${lake.scan("silver", cdcDatasetName(ref))}`,
    );
    return rows.map((r) => JSON.stringify(r)).sort();
  } finally {
    lake.cleanup();
  }
}

/** The operation script: every kind of change, in several transactions. */
async function operations(): Promise<void> {
  const t = `${schema}.types`;
  await exec(
    `INSERT INTO ${t} VALUES (3, -32768, -9223372036854775808, -0.001, 'NaN', 'Infinity', '-Infinity', false, '', 'ç', ' ',
      '1999-12-31', '00:00:00', '23:59:59.999', '1970-01-01 00:00:00', '2000-01-01 00:00:00.001',
      '1969-12-31 23:59:59.999999+00', '-1 days -00:00:01', '00000000-0000-0000-0000-000000000000',
      '[]', 'null', '\\x', '{}', '{"",""}', 'sad')`,
    "BEGIN",
    `INSERT INTO ${t} (id, n, nv) VALUES (4, 99999999.999, 123456789012345678901234567890.123456789)`,
    `UPDATE ${t} SET t = 'updated', n = n + 1 WHERE id = 1`,
    `DELETE FROM ${t} WHERE id = 2`,
    "COMMIT",
    `UPDATE ${t} SET nv = 'Infinity', f8 = 'NaN' WHERE id = 4`,
    `UPDATE ${schema}.toast SET small = 2 WHERE id = 1`,
    `UPDATE ${schema}.toast SET big = repeat('y', 10000) WHERE id = 1`,
    `INSERT INTO ${schema}.keyless_default VALUES ('new', 2)`,
    `UPDATE ${schema}.keyless_full SET n = 3 WHERE note = 'solo'`,
    `DELETE FROM ${schema}.keyless_full WHERE ctid = (SELECT min(ctid) FROM ${schema}.keyless_full WHERE note = 'dup')`,
    "BEGIN",
    `UPDATE ${schema}.moves SET id = 3 WHERE id = 1`,
    `UPDATE ${schema}.moves SET qty = 21 WHERE id = 2`,
    "COMMIT",
    `ALTER TABLE ${schema}.moves ADD COLUMN note text DEFAULT 'n/a'`,
    `INSERT INTO ${schema}.moves VALUES (4, 'four', 40, 'added')`,
    `ALTER TABLE ${schema}.moves DROP COLUMN qty`,
    `UPDATE ${schema}.moves SET label = 'TWO' WHERE id = 2`,
    `TRUNCATE ${schema}.keyless_default`,
    `INSERT INTO ${schema}.keyless_default VALUES ('after truncate', 3)`,
    `DELETE FROM ${schema}.moves WHERE id = 3`,
  );
}

async function readBoth(): Promise<{ dbz: TopicRecord[]; trib: TopicRecord[] }> {
  const topicsOf = (prefix: string) => [
    ...TABLES.map((t) => cdcTopic(prefix, schema, t)),
    cdcTransactionTopic(prefix),
  ];
  // Both tools have caught up when each one's last table event (the final delete's tombstone) is there.
  for (let i = 0; i < 100; i++) {
    const [dbz, trib] = await Promise.all([
      readTopics(kafka, topicsOf(dbzPrefix), 20_000, uniqueName("g")),
      readTopics(kafka, topicsOf(tribPrefix), 20_000, uniqueName("g")),
    ]);
    // Caught up: the final delete is there, and every table topic was read to its end for both.
    const done = (records: TopicRecord[], prefix: string) =>
      records.some(
        (r) =>
          r.topic === cdcTopic(prefix, schema, "moves") &&
          r.value?.includes('"op":"d"') &&
          r.value.includes('"id":3'),
      ) && TABLES.every((t) => records.some((r) => r.topic === cdcTopic(prefix, schema, t)));
    if (done(dbz, dbzPrefix) && done(trib, tribPrefix)) return { dbz, trib };
    await Bun.sleep(500);
  }
  throw new Error("the two tools did not both deliver the operation script within 150 s");
}

describe("Tributary against the real Debezium (Kafka Connect + Debezium PostgreSQL connector)", () => {
  let diffs: EventDiff[] = [];
  let dbz: TopicRecord[] = [];
  let trib: TopicRecord[] = [];

  test("both capture the type matrix and the operation script", async () => {
    await operations();
    ({ dbz, trib } = await readBoth());
    for (const table of TABLES) {
      const of = (records: TopicRecord[], prefix: string) =>
        records.filter((r) => r.topic === cdcTopic(prefix, schema, table)).map(normaliseRecord);
      diffs.push(...compareTable(table, of(dbz, dbzPrefix), of(trib, tribPrefix)));
    }
    expect(trib.length).toBeGreaterThan(20);
  }, 240_000);

  test("every table event is equal to Debezium's, but for the documented fields", () => {
    for (const d of diffs.slice(0, 60))
      console.log(
        `${d.table}#${d.index} ${d.path}: debezium ${JSON.stringify(d.debezium) ?? "(absent)"} tributary ${JSON.stringify(d.tributary) ?? "(absent)"}`,
      );
    expect(diffs).toEqual([]);
  });

  test("silver built from either tool's topics equals SELECT * FROM every table", async () => {
    for (const table of TABLES) {
      const expected = await pgRows(table);
      expect({ table, rows: await silverRows(trib, tribPrefix, table) }).toEqual({ table, rows: expected });
      expect({ table, rows: await silverRows(dbz, dbzPrefix, table) }).toEqual({ table, rows: expected });
    }
  }, 120_000);

  test("transaction BEGIN/END events are equal to Debezium's", () => {
    const of = (records: TopicRecord[], prefix: string) =>
      records
        .filter((r) => r.topic === cdcTransactionTopic(prefix) && !r.value?.includes('"snapshot:'))
        .map(normaliseTransaction);
    const d = of(dbz, dbzPrefix);
    const t = of(trib, tribPrefix);
    const rename = (x: unknown) =>
      JSON.parse(JSON.stringify(x).replaceAll(`${dbzPrefix}.`, "").replaceAll(`${tribPrefix}.`, ""));
    expect(rename(t)).toEqual(rename(d));
    diffs = [];
  });
});
