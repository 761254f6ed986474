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
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { type CdcEnvelopeSettings, debeziumConnectorConfig } from "@tributary/shared/cdc/debezium-connector";
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
import { landCdcSilver } from "./land-silver.ts";

// The same tables captured by the real Debezium (Kafka Connect 4.3.1 + Debezium 3.6.1.Final, one
// JVM for this file) and by Tributary, with the same envelope settings: every event must be equal
// but for the fields docs/cdc.md lists (testing/debezium-diff.ts NORMALISED). Each capture is one
// pair (a Debezium connector on the shared worker, a Tributary source), each with its own prefix and
// slots: schemas off, schemas on, schemas on with precise decimals (Connect's Decimal and
// VariableScaleDecimal schemas) and adaptive_time_microseconds times, and the other value modes: double decimals with adaptive times,
// numeric intervals and no tombstones, and Kafka Connect's own time types.
const config = loadConfig();
const kafka = createKafka({ ...config.kafka }, "cdc-dbz-test");
const kafkaConfig = { ...config.kafka, topicPartitions: 1 }; // one partition per topic: a total order to compare
const schema = uniqueName("dbz");
const stateDir = mkdtempSync(join(tmpdir(), "tributary-dbz-"));
const log = createLogger("cdc-dbz-test", "warn");
const TABLES = ["types", "toast", "keyless_default", "keyless_full", "moves"] as const;
const tableList = TABLES.map((t) => `${schema}.${t}`);

/** One differential pair: both tools with the same envelope settings, each with its own names. */
interface Capture {
  readonly label: string;
  readonly envelope: CdcEnvelopeSettings;
  readonly connector: string;
  readonly dbzPrefix: string;
  readonly dbzSlot: string;
  readonly tribPrefix: string;
  readonly tribSlot: string;
}

const capture = (label: string, envelope: Partial<CdcEnvelopeSettings>): Capture => ({
  label,
  envelope: { ...config.cdc.envelope, ...envelope },
  connector: uniqueName("conn"),
  dbzPrefix: uniqueName("dbzp"),
  dbzSlot: uniqueName("dslot"),
  tribPrefix: uniqueName("trib"),
  tribSlot: uniqueName("tslot"),
});
const OFF = capture("schemas off", { schemas: false });
const ON = capture("schemas on", { schemas: true });
const PRECISE = capture("schemas on, precise decimals, adaptive_time_microseconds times", {
  schemas: true,
  decimalHandlingMode: "precise",
  timePrecisionMode: "adaptive_time_microseconds",
});
const DOUBLE = capture("schemas on, double decimals, adaptive times, numeric intervals, tombstones off", {
  schemas: true,
  decimalHandlingMode: "double",
  timePrecisionMode: "adaptive",
  intervalHandlingMode: "numeric",
  tombstonesOnDelete: false,
});
const CONNECT = capture("schemas on, connect times", { schemas: true, timePrecisionMode: "connect" });
const CAPTURES = [OFF, ON, PRECISE, DOUBLE, CONNECT] as const;

let sql: pg.Client;
let worker: ConnectWorker | undefined;
const abort = new AbortController();
const running: Promise<void>[] = [];

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
  const url = worker.url;
  const sources = CAPTURES.map((c) => {
    const source = new CdcSource({
      pgUrl: config.postgres.url,
      kafka,
      kafkaConfig,
      prefix: c.tribPrefix,
      slot: c.tribSlot,
      publication: c.tribSlot,
      tables: tableList,
      stateDir,
      log,
      envelope: c.envelope,
    });
    running.push(source.run(abort.signal));
    return source;
  });
  for (const c of CAPTURES)
    await putConnector(
      url,
      c.connector,
      debeziumConnectorConfig({
        pgUrl: config.postgres.url,
        tables: tableList,
        topicPrefix: c.dbzPrefix,
        slot: c.dbzSlot,
        envelope: c.envelope,
        topicPartitions: 1,
        replicationFactor: 1,
      }),
    );
  await Promise.all(CAPTURES.map((c) => waitConnectorRunning(url, c.connector, 120_000)));
  for (let i = 0; i < 600 && sources.some((s) => s.metrics.state !== "streaming"); i++) await Bun.sleep(100);
  // Debezium's snapshot is done when its slot is active (it streams right after).
  const dbzSlots = CAPTURES.map((c) => c.dbzSlot);
  for (let i = 0; i < 600; i++) {
    const res = await sql.query(
      "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = ANY($1) AND active",
      [dbzSlots],
    );
    if (res.rows[0]?.n === dbzSlots.length) break;
    await Bun.sleep(100);
  }
}, 240_000);

afterAll(async () => {
  abort.abort();
  await Promise.all(running.map((r) => r.catch(() => undefined)));
  if (worker) {
    for (const c of CAPTURES) await deleteConnector(worker.url, c.connector).catch(() => undefined);
    await worker.stop();
  }
  for (const slot of CAPTURES.flatMap((c) => [c.tribSlot, c.dbzSlot])) {
    await dropSlot(sql, slot).catch(() => undefined);
    await sql.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
  }
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

/**
 * Silver's current state of `table` built from one tool's topic: its column types, the columns it
 * keeps as text although schemas type them, and its rows as JSON text, sorted.
 */
async function silverOf(
  records: readonly TopicRecord[],
  prefix: string,
  table: string,
): Promise<{ columns: string[]; textColumns: Readonly<Record<string, string>>; rows: string[] }> {
  const lake = createTempLake();
  try {
    const ref = { schema, table };
    const ours = records.filter((r) => r.topic === cdcTopic(prefix, schema, table) && r.value !== null);
    const { textColumns } = await landCdcSilver(lake, ours, ref);
    const current = `SELECT * EXCLUDE (_op, _lsn, _commit_ts, _absent_columns) FROM ${lake.scan("silver", cdcDatasetName(ref))}`;
    const columns = await lake.query(`DESCRIBE ${current}`);
    const rows = await lake.query(current);
    return {
      columns: columns.map((c) => `${c.column_name} ${c.column_type}`),
      textColumns,
      rows: rows.map((r) => JSON.stringify(r)).sort(),
    };
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
    // Key changes that leave the large value alone: the creates carry the placeholder (silver fills it).
    `UPDATE ${schema}.toast SET id = 2 WHERE id = 1`,
    "BEGIN",
    `UPDATE ${schema}.toast SET id = 3, small = 3 WHERE id = 2`,
    `UPDATE ${schema}.toast SET id = 4 WHERE id = 3`,
    "COMMIT",
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
    // One WAL record for all of a COPY's rows: equal rows share their LSN and differ by total_order only.
    `COPY ${schema}.keyless_full FROM PROGRAM 'printf ''copied\\t7\\ncopied\\t7\\n'''`,
    `COPY ${schema}.keyless_default FROM PROGRAM 'printf ''copied\\t8\\ncopied\\t8\\n'''`,
  );
}

interface Captured {
  readonly dbz: TopicRecord[];
  readonly trib: TopicRecord[];
}

/** Every capture's topics from both tools, once each one has delivered the whole operation script. */
async function readAll(): Promise<Map<Capture, Captured>> {
  const topicsOf = (prefix: string) => [
    ...TABLES.map((t) => cdcTopic(prefix, schema, t)),
    cdcTransactionTopic(prefix),
  ];
  const prefixes = CAPTURES.flatMap((c) => [c.dbzPrefix, c.tribPrefix]);
  // Caught up: the final delete is there, and every table topic was read to its end for both.
  const done = (records: TopicRecord[], prefix: string) =>
    records.some(
      (r) =>
        r.topic === cdcTopic(prefix, schema, "moves") &&
        r.value?.includes('"op":"d"') &&
        r.value.includes('"id":3'),
    ) && TABLES.every((t) => records.some((r) => r.topic === cdcTopic(prefix, schema, t)));
  // Transaction metadata can trail the table events (Kafka Connect sends it to its own topic, created
  // with its first record): once the tables are done, wait up to 30 s more until both tools' transaction
  // topics hold the same number of END events, then compare whatever is there.
  const ends = (records: TopicRecord[], prefix: string) =>
    records.filter((r) => r.topic === cdcTransactionTopic(prefix) && r.value?.includes('"status":"END"'))
      .length;
  let doneSince: number | undefined;
  for (let i = 0; i < 160; i++) {
    const records = await readTopics(kafka, prefixes.flatMap(topicsOf), 20_000, uniqueName("g"));
    const of = (prefix: string) => records.filter((r) => topicsOf(prefix).includes(r.topic));
    if (prefixes.every((p) => done(of(p), p))) {
      doneSince ??= Date.now();
      const settled = CAPTURES.every((c) => {
        const n = ends(of(c.dbzPrefix), c.dbzPrefix);
        return n > 0 && n === ends(of(c.tribPrefix), c.tribPrefix);
      });
      if (settled || Date.now() - doneSince > 30_000)
        return new Map(CAPTURES.map((c) => [c, { dbz: of(c.dbzPrefix), trib: of(c.tribPrefix) }]));
    }
    await Bun.sleep(500);
  }
  throw new Error("the two tools did not both deliver the operation script in time");
}

/** Each table's events of both tools, compared after normalising (testing/debezium-diff.ts). */
function tableDiffs(c: Capture, { dbz, trib }: Captured): EventDiff[] {
  const of = (records: TopicRecord[], prefix: string, table: string) =>
    records.filter((r) => r.topic === cdcTopic(prefix, schema, table)).map((r) => normaliseRecord(r, prefix));
  return TABLES.flatMap((t) => compareTable(t, of(dbz, c.dbzPrefix, t), of(trib, c.tribPrefix, t)));
}

function printDiffs(c: Capture, diffs: readonly EventDiff[]): void {
  for (const d of diffs.slice(0, 60))
    console.log(
      `[${c.label}] ${d.table}#${d.index} ${d.path}: debezium ${JSON.stringify(d.debezium) ?? "(absent)"} tributary ${JSON.stringify(d.tributary) ?? "(absent)"}`,
    );
}

describe("Tributary against the real Debezium (Kafka Connect + Debezium PostgreSQL connector)", () => {
  let captured = new Map<Capture, Captured>();
  const of = (c: Capture): Captured => captured.get(c) ?? { dbz: [], trib: [] };

  test("both capture the type matrix and the operation script, with each capture's settings", async () => {
    await operations();
    captured = await readAll();
    for (const c of CAPTURES)
      expect({ capture: c.label, many: of(c).trib.length > 20 }).toEqual({ capture: c.label, many: true });
  }, 240_000);

  for (const c of CAPTURES)
    test(`${c.label}: every table event is equal to Debezium's, but for the documented fields`, () => {
      const diffs = tableDiffs(c, of(c));
      printDiffs(c, diffs);
      expect(diffs).toEqual([]);
    });

  test("the other value modes reach both tools' topics as Debezium defines them, so the equality above means something", () => {
    /** The snapshot read of `types` row 1 (its `after`), and whether any table event is a tombstone. */
    const seen = (records: readonly TopicRecord[], prefix: string) => {
      const payloads = records
        .filter((r) => r.topic === cdcTopic(prefix, schema, "types") && r.value !== null)
        .map((r) => {
          const v = JSON.parse(r.value as string) as { payload?: Record<string, unknown> };
          return (v.payload ?? v) as { op: string; after: Record<string, unknown> | null };
        });
      const tombstones = records.filter(
        (r) => TABLES.some((t) => r.topic === cdcTopic(prefix, schema, t)) && r.value === null,
      ).length;
      return { row1: payloads.find((p) => p.op === "r" && p.after?.id === 1)?.after, tombstones };
    };
    const day = Date.UTC(2024, 7, 15) / 86_400_000;
    const ms = (h: number, m: number, sec: number, milli: number) => Date.UTC(2024, 7, 15, h, m, sec, milli);
    for (const [c, want] of [
      // double: numbers; adaptive: time(6) µs, time(3) ms, timestamp(3) ms, timestamp(6) µs; numeric: µs.
      [
        DOUBLE,
        {
          n: 4154.13,
          nv: 1.1,
          d: day,
          tm: 36_672_500_000,
          tm3: 36_672_123,
          ts3: ms(10, 11, 12, 123),
          ts: ms(23, 59, 59, 999) * 1000 + 999,
          iv: expect.any(Number),
        },
      ],
      // adaptive_time_microseconds: as adaptive, but every time in µs (time(3) too).
      [PRECISE, { d: day, tm: 36_672_500_000, tm3: 36_672_123_000, ts3: ms(10, 11, 12, 123) }],
      // connect: Kafka Connect's Date (days), Time and Timestamp (ms, µs cut).
      [
        CONNECT,
        {
          n: "4154.130",
          d: day,
          tm: 36_672_500,
          tm3: 36_672_123,
          ts: ms(23, 59, 59, 999),
          iv: "P1Y2M3DT4H5M6.5S",
        },
      ],
    ] as const) {
      for (const [tool, prefix] of [
        ["debezium", c.dbzPrefix],
        ["tributary", c.tribPrefix],
      ] as const) {
        const { row1, tombstones } = seen(tool === "debezium" ? of(c).dbz : of(c).trib, prefix);
        expect({ capture: c.label, tool, row1 }).toEqual({
          capture: c.label,
          tool,
          row1: expect.objectContaining(want),
        });
        // Deletes are in the script: tombstones follow them unless the capture turned them off.
        expect({ capture: c.label, tool, tombstones: tombstones > 0 }).toEqual({
          capture: c.label,
          tool,
          tombstones: c.envelope.tombstonesOnDelete,
        });
      }
    }
  });

  test("silver built from either tool's topics equals SELECT * FROM every table", async () => {
    const { dbz, trib } = of(OFF);
    for (const table of TABLES) {
      const expected = await pgRows(table);
      expect({ table, rows: (await silverOf(trib, OFF.tribPrefix, table)).rows }).toEqual({
        table,
        rows: expected,
      });
      expect({ table, rows: (await silverOf(dbz, OFF.dbzPrefix, table)).rows }).toEqual({
        table,
        rows: expected,
      });
    }
  }, 120_000);

  test("schemas on, in each value mode: silver built from either tool's topics has the same column types and rows", async () => {
    for (const c of [ON, DOUBLE, CONNECT]) {
      const { dbz, trib } = of(c);
      for (const table of TABLES) {
        const ours = await silverOf(trib, c.tribPrefix, table);
        expect({ capture: c.label, table, ...ours }).toEqual({
          capture: c.label,
          table,
          ...(await silverOf(dbz, c.dbzPrefix, table)),
        });
        if (c === ON && table === "types") expect(ours.columns).toContain("n DECIMAL(12,3)"); // the schemas typed it
      }
    }
  }, 240_000);

  for (const c of CAPTURES)
    test(`${c.label}: transaction BEGIN/END events are equal to Debezium's`, () => {
      const events = (records: TopicRecord[], prefix: string) =>
        records
          .filter((r) => r.topic === cdcTransactionTopic(prefix) && !r.value?.includes('"snapshot:'))
          .map(normaliseTransaction);
      const rename = (x: unknown, prefix: string) =>
        JSON.parse(JSON.stringify(x).replaceAll(`${prefix}.`, ""));
      expect(rename(events(of(c).trib, c.tribPrefix), c.tribPrefix)).toEqual(
        rename(events(of(c).dbz, c.dbzPrefix), c.dbzPrefix),
      );
    });
});
