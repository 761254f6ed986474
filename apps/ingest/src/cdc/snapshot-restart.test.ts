import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { cdcTransactionTopic } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { dropSlot, openSqlClient, slotInfo } from "./catalog.ts";
import { completedSnapshots, replayTable } from "./replay.ts";
import { SnapshotStateStore } from "./snapshot-state.ts";
import { CdcFatalError, CdcSource } from "./source.ts";
import {
  diffStates,
  envelopesOf,
  readTopics,
  tableState,
  transactionEventsOf,
  waitConfirmed,
} from "./testing/support.ts";

const config = loadConfig();
const kafka = createKafka(config.kafka, "cdc-snapshot-test");
const schema = uniqueName("cdcsnap");
const names = { prefix: uniqueName("cdcs"), slot: uniqueName("slot"), publication: uniqueName("pub") };
const stateDir = mkdtempSync(join(tmpdir(), "tributary-cdc-snap-"));
const logLines: string[] = [];
const log = createLogger("cdc-snapshot-test", "info", (l) => logLines.push(l));
let sql: pg.Client;

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-snapshot-test");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.quotes (id int PRIMARY KEY, price numeric(18,2) NOT NULL)`);
  await sql.query(`INSERT INTO ${schema}.quotes SELECT g, g * 1.01 FROM generate_series(1, 3000) g`);
});

afterAll(async () => {
  await dropSlot(sql, names.slot).catch(() => undefined);
  await sql.query(`DROP PUBLICATION IF EXISTS ${names.publication}`).catch(() => undefined);
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql.end();
  rmSync(stateDir, { recursive: true, force: true });
});

const source = () =>
  new CdcSource({
    ...names,
    pgUrl: config.postgres.url,
    kafka,
    kafkaConfig: config.kafka,
    tables: [`${schema}.quotes`],
    stateDir,
    log,
    snapshotBatchRows: 100,
    maxBatchRecords: 100,
  });

test("a snapshot interrupted by a crash starts over on restart, and the finished snapshot replaces the unfinished one", async () => {
  // 1. The first run dies part-way through its snapshot.
  const first = source();
  const abort1 = new AbortController();
  const run1 = first.run(abort1.signal);
  for (let i = 0; i < 400 && first.metrics.snapshotRows < 500; i++) await Bun.sleep(10);
  abort1.abort();
  await expect(run1).rejects.toBeInstanceOf(CdcFatalError);
  expect(first.metrics.snapshotRows).toBeGreaterThanOrEqual(500);
  expect(first.metrics.snapshotRows).toBeLessThan(3000);
  expect(new SnapshotStateStore(stateDir, names.slot).read()).toBeNull();
  expect(await slotInfo(sql, names.slot)).not.toBeNull(); // left behind, as after a real crash

  // 2. Meanwhile rows the partial snapshot already emitted are deleted or changed.
  await sql.query(`DELETE FROM ${schema}.quotes WHERE id <= 200`);
  await sql.query(`UPDATE ${schema}.quotes SET price = 0.01 WHERE id BETWEEN 201 AND 250`);

  // 3. The restart notices, drops the slot and takes a complete snapshot.
  const second = source();
  const abort2 = new AbortController();
  const run2 = second.run(abort2.signal);
  try {
    for (let i = 0; i < 400 && second.metrics.state !== "streaming"; i++) await Bun.sleep(25);
    expect(second.metrics.state).toBe("streaming");
    expect(second.metrics.snapshotRows).toBe(2800);
    expect(logLines.some((l) => l.includes("the last snapshot was interrupted; starting it over"))).toBe(
      true,
    );
    await sql.query(`INSERT INTO ${schema}.quotes VALUES (5000, 50.00)`);
    await waitConfirmed(sql, second.metrics);
  } finally {
    abort2.abort();
    await run2;
  }
  const topic = cdcTopic(names.prefix, schema, "quotes");
  const txTopic = cdcTransactionTopic(names.prefix);
  const records = await readTopics(kafka, [topic, txTopic], 30_000, uniqueName("g"));
  const events = envelopesOf(records, topic);
  const snapshots = completedSnapshots(transactionEventsOf(records, txTopic), `${schema}.quotes`);
  expect(snapshots).toHaveLength(1);
  const expected = await tableState(sql, { schema, table: "quotes" });
  expect(diffStates(expected, replayTable(events, snapshots).rows)).toEqual([]);
  // Without the replace rule, rows deleted between the two attempts would linger.
  expect(replayTable(events, []).rows.has('{"id":1}')).toBe(true);
});
