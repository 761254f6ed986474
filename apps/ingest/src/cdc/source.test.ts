import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import {
  type CdcEnvelope,
  cdcDlqTopic,
  cdcTransactionTopic,
  UNAVAILABLE_VALUE,
} from "@tributary/shared/contracts/cdc";
import { cdcTopic, DLQ_HEADERS } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { openSqlClient, slotInfo } from "./catalog.ts";
import { completedSnapshots, replayTable } from "./replay.ts";
import { CdcSource } from "./source.ts";
import {
  diffStates,
  dropCapture,
  envelopesOf,
  readTopics,
  tableState,
  transactionEventsOf,
  waitConfirmed,
} from "./testing/support.ts";

const config = loadConfig();
const kafka = createKafka(config.kafka, "cdc-test");
const schema = uniqueName("cdc");
const prefix = uniqueName("cdcp");
const slot = uniqueName("slot");
const publication = uniqueName("pub");
const stateDir = mkdtempSync(join(tmpdir(), "tributary-cdc-"));
const logLines: string[] = [];
const log = createLogger("cdc-test", "info", (line) => logLines.push(line));
let sql: pg.Client;

const prices = { schema, table: "prices" };
const kinds = { schema, table: "kinds" };
const keyless = { schema, table: "keyless" };
const topicOf = (t: { schema: string; table: string }): string => cdcTopic(prefix, t.schema, t.table);

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-test");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.prices (
    bond_type text NOT NULL, maturity_date date NOT NULL, base_date date NOT NULL,
    buy_rate numeric(9,2), buy_price numeric(18,2), PRIMARY KEY (bond_type, maturity_date, base_date))`);
  await sql.query(`CREATE TABLE ${schema}.kinds (
    id bigint PRIMARY KEY, d date, ts timestamp, tstz timestamptz, t time, n numeric, f double precision,
    b boolean, j jsonb, js json, arr int[], narr numeric[], tarr text[], by bytea, big text, u uuid, iv interval)`);
  await sql.query(`CREATE TABLE ${schema}.keyless (note text)`);
  // Rows that exist before CDC starts: they must arrive as snapshot reads.
  await sql.query(`INSERT INTO ${schema}.prices VALUES
    ('Tesouro IPCA+', '2026-08-15', '2024-08-15', 6.12, 4154.13),
    ('Tesouro Selic', '2027-03-01', '2024-08-15', 0.00, 15234.56)`);
  await sql.query(`INSERT INTO ${schema}.kinds (id, d, big) VALUES (1, '2024-08-15', 'x')`);
});

afterAll(async () => {
  await dropCapture(sql, { slot: slot, publication: publication, schema });
  await sql.end();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("CDC source against PostgreSQL and Kafka", () => {
  test("snapshots existing rows, streams every change in commit order, and the replayed topic equals the table", async () => {
    const abort = new AbortController();
    const source = new CdcSource({
      pgUrl: config.postgres.url,
      kafka,
      kafkaConfig: config.kafka,
      prefix,
      slot,
      publication,
      tables: [`${schema}.prices`, `${schema}.kinds`, `${schema}.keyless`],
      stateDir,
      log,
      maxRecordBytes: 200_000,
    });
    const running = source.run(abort.signal);
    try {
      // Wait for streaming to begin (snapshot done and acknowledged).
      for (let i = 0; i < 200 && source.metrics.state !== "streaming"; i++) await Bun.sleep(50);
      expect(source.metrics.state).toBe("streaming");
      expect(source.metrics.snapshotRows).toBe(3);

      // A multi-row transaction, updates, a primary-key change, deletes, types, TOAST, a new column.
      await sql.query("BEGIN");
      await sql.query(`INSERT INTO ${schema}.prices VALUES ('Tesouro Prefixado', '2031-01-01', '2024-08-16', 11.50, 512.30),
        ('Tesouro Prefixado', '2031-01-01', '2024-08-17', NULL, NULL)`);
      await sql.query(`UPDATE ${schema}.prices SET buy_price = 4154.14 WHERE bond_type = 'Tesouro IPCA+'`);
      await sql.query("COMMIT");
      await sql.query(`UPDATE ${schema}.prices SET base_date = '2024-08-18' WHERE base_date = '2024-08-17'`);
      await sql.query(`DELETE FROM ${schema}.prices WHERE bond_type = 'Tesouro Selic'`);
      const big = Array.from({ length: 6000 }, (_, i) => ((i * 7919) % 1000).toString(36)).join("");
      await sql.query(
        `INSERT INTO ${schema}.kinds VALUES (9007199254740993, '2024-08-15', '2024-08-15 23:59:59.999999', '2024-08-15 03:00:00.5-03',
          '10:11:12.5', 1234567890.123456789, 0.1, true, '{"a": 1.10, "b": [1, 2]}', '{"x":  1}', '{1,NULL,3}', '{1.10,-0.5}',
          '{"a b","c\\"d",NULL}', '\\x48656c6c6f', $1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 2 hours')`,
        [big],
      );
      await sql.query(`UPDATE ${schema}.kinds SET b = false WHERE id = 9007199254740993`); // big stays TOASTed, unchanged
      await sql.query(`ALTER TABLE ${schema}.kinds ADD COLUMN added text`);
      await sql.query(`INSERT INTO ${schema}.kinds (id, added) VALUES (3, 'after ddl')`);
      await sql.query(`INSERT INTO ${schema}.kinds (id, big) VALUES (4, $1)`, [big.repeat(60)]); // ~400 kB: over the limit
      await sql.query(`INSERT INTO ${schema}.keyless VALUES ('no key')`);
      const target = await waitConfirmed(sql, source.metrics);
      expect(source.metrics.confirmedLsn).toBeGreaterThanOrEqual(target);

      // The slot only moved after Kafka acknowledged: its confirmed position is what the source confirmed.
      const info = await slotInfo(sql, slot);
      expect(info?.confirmedFlushLsn).toBeLessThanOrEqual(source.metrics.confirmedLsn);

      const topics = [
        topicOf(prices),
        topicOf(kinds),
        topicOf(keyless),
        cdcTransactionTopic(prefix),
        cdcDlqTopic(prefix),
      ];
      const records = await readTopics(kafka, topics, 30_000, uniqueName("g"));
      const txEvents = transactionEventsOf(records, cdcTransactionTopic(prefix));

      // prices: replay equals the table, and the ops are the ones made.
      const priceEvents = envelopesOf(records, topicOf(prices));
      const replayed = replayTable(priceEvents, completedSnapshots(txEvents, `${schema}.prices`));
      expect(diffStates(await tableState(sql, prices), replayed.rows)).toEqual([]);
      expect(priceEvents.map((e) => e.envelope.op).sort()).toEqual(["c", "c", "c", "d", "d", "r", "r", "u"]);
      const reads = [...priceEvents, ...envelopesOf(records, topicOf(kinds))]
        .filter((e) => e.envelope.op === "r")
        .map((e) => e.envelope);
      expect(reads.map((e) => e.source.snapshot).sort()).toEqual([
        "first",
        "last",
        "last_in_data_collection",
      ]); // 3 rows of 2 tables, one snapshot
      expect(
        reads.every(
          (e) => e.before === null && e.transaction === null && JSON.parse(e.source.sequence)[0] === null,
        ),
      ).toBe(true);
      const keyChange = priceEvents.filter(
        (e) =>
          e.envelope.after?.base_date === "2024-08-18Z" || e.envelope.before?.base_date === "2024-08-17Z",
      );
      expect(keyChange.map((e) => e.envelope.op).sort()).toEqual(["c", "d"]);
      const ipca = priceEvents.find((e) => e.envelope.op === "u")?.envelope as CdcEnvelope;
      expect(ipca.after).toEqual({
        bond_type: "Tesouro IPCA+",
        maturity_date: "2026-08-15Z",
        base_date: "2024-08-15Z",
        buy_rate: "6.12",
        buy_price: "4154.14",
      });
      expect(JSON.parse(priceEvents.find((e) => e.envelope.op === "u")?.key as string)).toEqual({
        bond_type: "Tesouro IPCA+",
        maturity_date: "2026-08-15Z",
        base_date: "2024-08-15Z",
      });

      // The multi-row transaction is framed by BEGIN/END with the right counts.
      const multi = txEvents.find(
        (t) => t.status === "END" && !t.id.startsWith("snapshot:") && t.event_count === 3,
      );
      expect(multi?.data_collections).toEqual([{ data_collection: `${schema}.prices`, event_count: 3 }]);
      // Debezium's ids are `<txId>:<LSN>` with the LSN where the connector is: BEGIN and END share the txId.
      // The ids (the record keys) differ, so the two may sit in different partitions: no order across them.
      const xid = (id: string | undefined) => id?.split(":")[0];
      expect(
        txEvents
          .filter((t) => xid(t.id) === xid(multi?.id))
          .map((t) => t.status)
          .sort(),
      ).toEqual(["BEGIN", "END"]);

      // kinds: every type exact; the unchanged TOAST value is the placeholder; the new column arrives.
      const kindEvents = envelopesOf(records, topicOf(kinds));
      const inserted = kindEvents.find((e) => e.envelope.op === "c" && e.envelope.after?.u)?.envelope.after;
      expect(inserted).toMatchObject({
        d: "2024-08-15Z",
        ts: "2024-08-15T23:59:59.999999Z",
        tstz: "2024-08-15T06:00:00.500000Z",
        t: "10:11:12.5Z",
        n: "1234567890.123456789",
        f: 0.1,
        b: true,
        j: '{"a": 1.10, "b": [1, 2]}',
        js: '{"x":  1}',
        arr: [1, null, 3],
        narr: ["1.10", "-0.5"],
        tarr: ["a b", 'c"d', null],
        by: "SGVsbG8=",
        big,
        u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        iv: "P0Y0M1DT2H0M0S",
      });
      const rawInsert = records.find(
        (r) => r.topic === topicOf(kinds) && r.value?.includes('"op":"c"') && r.value.includes('"u":"a0ee'),
      );
      expect(rawInsert?.value).toContain('"id":9007199254740993'); // int8 written exactly, not rounded to …992
      expect(rawInsert?.key).toBe('{"id":9007199254740993}');
      const toastUpdate = kindEvents.find((e) => e.envelope.op === "u")?.envelope.after;
      expect(toastUpdate?.big).toBe(UNAVAILABLE_VALUE);
      expect(toastUpdate?.b).toBe(false);
      expect(kindEvents.find((e) => e.envelope.after?.id === 3)?.envelope.after?.added).toBe("after ddl");
      const kindReplay = replayTable(kindEvents, completedSnapshots(txEvents, `${schema}.kinds`));
      const expectedKinds = await tableState(sql, kinds);
      expectedKinds.delete('{"id":4}'); // in the DLQ, not the topic
      expect(diffStates(expectedKinds, kindReplay.rows)).toEqual([]);

      // The oversized row is in the DLQ with the reason headers, not lost and not blocking.
      const dlq = records.filter((r) => r.topic === cdcDlqTopic(prefix));
      expect(dlq).toHaveLength(1);
      expect(dlq[0]?.key).toBe('{"id":4}');
      expect(dlq[0]?.headers[DLQ_HEADERS.reason]).toContain("over the 200000-byte limit");
      expect(dlq[0]?.headers[DLQ_HEADERS.topic]).toBe(topicOf(kinds));
      expect(source.metrics.dlq).toBe(1);

      // A keyless table is captured with a null key, and the operator was told how to fix it.
      const keylessRecords = records.filter((r) => r.topic === topicOf(keyless));
      expect(keylessRecords.map((r) => r.key)).toEqual([null]);
      expect(
        logLines.some(
          (l) => l.includes(`${schema}.keyless has no primary key`) && l.includes("REPLICA IDENTITY FULL"),
        ),
      ).toBe(true);
    } finally {
      abort.abort();
      await running;
    }
  });
});
