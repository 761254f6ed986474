/**
 * Incremental snapshots against the stack's PostgreSQL and Kafka: a table added to a running capture
 * is re-read in chunks while other connections change it, and its topic ends up equal to the table;
 * bad signals are refused without stopping the stream; a stopped source resumes where Kafka left off;
 * `bun run cdc --snapshot-table` sends the signal.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { type CdcEnvelope, cdcDlqTopic } from "@tributary/shared/contracts/cdc";
import { cdcTopic, DLQ_HEADERS } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { openSqlClient, serverWalLsn } from "./catalog.ts";
import { IncrementalStateStore } from "./incremental-state.ts";
import { replayTable } from "./replay.ts";
import { insertSignal } from "./signal.ts";
import { CdcSource } from "./source.ts";
import {
  diffStates,
  dropCapture,
  envelopesOf,
  latestPerKey,
  readTopics,
  tableState,
  waitConfirmed,
} from "./testing/support.ts";

const ROOT = resolve(import.meta.dir, "../../../..");
const config = loadConfig();
const kafka = createKafka(config.kafka, "cdc-incremental-test");
const schema = uniqueName("cdcinc");
const names = { prefix: uniqueName("cdci"), slot: uniqueName("slot"), publication: uniqueName("pub") };
const signalTable = `${schema}.signal`;
const stateDir = mkdtempSync(join(tmpdir(), "tributary-cdc-inc-"));
const logs: { readonly msg: string; readonly [field: string]: unknown }[] = [];
const log = createLogger("cdc-incremental-test", "info", (l) => logs.push(JSON.parse(l)));
const logged = (text: string): boolean => logs.some((l) => l.msg.includes(text));
const ROWS = 20_000;
const big = { schema, table: "big" };
const other = { schema, table: "other" };
const topicOf = (t: { schema: string; table: string }): string => cdcTopic(names.prefix, t.schema, t.table);
let sql: pg.Client;
let running: { source: CdcSource; abort: AbortController; done: Promise<void> } | undefined;

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-incremental-test");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.big (region text, id int, qty numeric(12,2) NOT NULL, note text,
    PRIMARY KEY (region, id))`);
  await sql.query(`CREATE TABLE ${schema}.other (id int PRIMARY KEY, v text)`);
  await sql.query(`CREATE TABLE ${schema}.keyless (note text)`);
  await sql.query(`CREATE TABLE ${schema}.uncaptured (id int PRIMARY KEY)`);
});

afterAll(async () => {
  await stop();
  await dropCapture(sql, { ...names, schema });
  await sql.end();
  rmSync(stateDir, { recursive: true, force: true });
});

function start(tables: readonly string[]): CdcSource {
  const source = new CdcSource({
    ...names,
    pgUrl: config.postgres.url,
    kafka,
    kafkaConfig: config.kafka,
    tables,
    stateDir,
    log,
    signalTable,
    incrementalChunkSize: 250,
  });
  const abort = new AbortController();
  running = { source, abort, done: source.run(abort.signal) };
  return source;
}

async function stop(): Promise<void> {
  running?.abort.abort();
  await running?.done.catch(() => undefined);
  running = undefined;
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await Bun.sleep(10);
  }
}

/** Until the source has put everything PostgreSQL wrote so far into Kafka. */
async function confirmed(source: CdcSource): Promise<void> {
  const target = await waitConfirmed(sql, source.metrics, 20_000);
  expect(source.metrics.confirmedLsn).toBeGreaterThanOrEqual(target);
}

const allTables = [`${schema}.big`, `${schema}.other`, `${schema}.keyless`];

/** The original id of the k-th row of `big` in key order (region `r<g % 7>`, then id). */
const idAt = (k: number): number => {
  const per = Math.floor(ROWS / 7);
  const region = Math.min(6, Math.floor(k / per));
  return region === 0 ? 7 * ((k % per) + 1) : 7 * (k % per) + region;
};

/**
 * Small transactions of inserts, upserts, updates, deletes and key moves on `big` until `stopped()`,
 * half of them on the rows just ahead of `position()` (the snapshot's), so they meet open windows.
 */
async function churn(stopped: () => boolean, position: () => number): Promise<number> {
  const client = await openSqlClient(config.postgres.url, "cdc-incremental-churn");
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let ops = 0;
  try {
    while (!stopped()) {
      await client.query("BEGIN");
      try {
        for (let i = 0; i < 4; i++, ops++) {
          const g = ops % 2 === 0 ? 1 + rand(ROWS) : idAt(Math.min(ROWS - 1, position() + rand(600)));
          const key = [`r${g % 7}`, g];
          switch (rand(6)) {
            case 0: // above the largest key at the start: only the stream carries it
              await client.query(`INSERT INTO ${schema}.big VALUES ($1, $2, 1.00, 'new')`, [
                `r${ops % 7}`,
                100_000 + ops,
              ]);
              break;
            case 1:
              await client.query(
                `INSERT INTO ${schema}.big VALUES ($1, $2, 2.00, 'upsert') ON CONFLICT (region, id) DO UPDATE SET note = 'upserted'`,
                key,
              );
              break;
            case 2:
            case 3:
              await client.query(
                `UPDATE ${schema}.big SET qty = qty + 1, note = 'u' || $3 WHERE region = $1 AND id = $2`,
                [...key, ops],
              );
              break;
            case 4:
              await client.query(`DELETE FROM ${schema}.big WHERE region = $1 AND id = $2`, key);
              break;
            default: // a key move inside the snapshot's key range
              await client.query(
                `UPDATE ${schema}.big SET region = 'r' || ((id + 1) % 7) WHERE region = $1 AND id = $2`,
                key,
              );
          }
        }
        await client.query("COMMIT");
      } catch {
        await client.query("ROLLBACK"); // a key move onto a key that exists: skip the transaction
      }
      await Bun.sleep(2);
    }
    return ops;
  } finally {
    await client.end();
  }
}

async function topicState(topic: string): Promise<{ records: Awaited<ReturnType<typeof readTopics>> }> {
  return { records: await readTopics(kafka, [topic, cdcDlqTopic(names.prefix)], 30_000, uniqueName("g")) };
}

describe("incremental snapshots while streaming", () => {
  test("a 20,000-row table added to a running capture is re-read under concurrent writes: its topic equals the table, and another table streams meanwhile", async () => {
    // 1. A capture without `big`: its initial snapshot and stream never see big's rows.
    await sql.query(`INSERT INTO ${schema}.big
      SELECT 'r' || (g % 7), g, g * 1.5, md5(g::text) FROM generate_series(1, ${ROWS}) g`);
    let source = start([`${schema}.other`, `${schema}.keyless`]);
    await until("streaming", () => source.metrics.state === "streaming");
    await stop();

    // 2. `big` joins the capture: streamed from now on, its existing rows only by a snapshot.
    source = start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    expect(logged("created the signal table")).toBe(true);
    let stopChurn = false;
    const churning = churn(
      () => stopChurn,
      () => source.metrics.incremental.tableRows,
    );
    await Bun.sleep(100);
    await insertSignal(sql, { schema, table: "signal" }, "execute-snapshot", {
      "data-collections": [`${schema}.big`],
    });
    const inc = source.metrics.incremental;
    await until("the snapshot has read a few chunks", () => inc.tableRows >= 1000);

    // 3. A change to another table, mid-snapshot, is in Kafka before the snapshot ends.
    await sql.query(`INSERT INTO ${schema}.other VALUES (1, 'during the snapshot')`);
    const otherAt = await serverWalLsn(sql);
    await until("the other table's change is confirmed", () => source.metrics.confirmedLsn >= otherAt);
    expect(inc.tablesLeft).toBe(1);
    expect(inc.tableRows).toBeLessThan(ROWS);

    await until("the snapshot is done", () => inc.tablesLeft === 0, 120_000);
    stopChurn = true;
    const ops = await churning;
    expect(ops).toBeGreaterThan(100);
    await confirmed(source);
    expect(source.metrics.incrementalRows).toBeGreaterThan(ROWS * 0.9);
    expect(source.metrics.signals).toBe(1);
    expect(source.metrics.signalErrors).toBe(0);
    const done = logs.find((l) => l.msg === "incremental snapshot of a table done");
    expect(done).toMatchObject({
      table: `${schema}.big`,
      rows: expect.any(Number),
      percent: expect.any(Number),
    });
    expect(done?.estimated_rows).toBeGreaterThan(ROWS * 0.9);

    const { records } = await topicState(topicOf(big));
    const expected = await tableState(sql, big);
    expect(expected.size).toBeGreaterThan(ROWS * 0.8);
    // As a compacted topic reads, and as silver orders events (reads at their high watermark's commit).
    expect(diffStates(expected, latestPerKey(records, topicOf(big)))).toEqual([]);
    expect(diffStates(expected, replayTable(envelopesOf(records, topicOf(big)), []).rows)).toEqual([]);
    const reads = envelopesOf(records, topicOf(big)).filter((e) => e.envelope.op === "r");
    expect(reads.length).toBeGreaterThan(ROWS * 0.8);
    expect(reads.every((r) => r.envelope.source.snapshot === "incremental")).toBe(true);
    expect(JSON.parse(reads[0]?.envelope.source.sequence ?? "[]")[0]).not.toBeNull();
    // Signal rows are not data: no topic for the signal table.
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(cdcTopic(names.prefix, schema, "signal"));
    } finally {
      await admin.disconnect();
    }
  }, 240_000);

  test("a keyless table is refused with a message naming it, and the stream goes on", async () => {
    const source = running?.source ?? start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    const errors = source.metrics.signalErrors;
    await insertSignal(sql, { schema, table: "signal" }, "execute-snapshot", {
      "data-collections": [`${schema}.keyless`],
    });
    await until("the signal is refused", () => source.metrics.signalErrors > errors);
    const message = `table ${schema}.keyless has no primary key: an incremental snapshot reads a table in primary-key chunks`;
    expect(logged(message)).toBe(true);
    expect(source.metrics.incremental.tablesLeft).toBe(0);
    await sql.query(`INSERT INTO ${schema}.other VALUES (2, 'after the keyless signal')`);
    await confirmed(source);
    const { records } = await topicState(topicOf(other));
    expect(latestPerKey(records, topicOf(other)).get('{"id":2}')).toEqual({
      id: 2,
      v: "after the keyless signal",
    });
    const dlq = records.filter((r) => r.topic === cdcDlqTopic(names.prefix));
    expect(dlq.some((r) => r.headers[DLQ_HEADERS.reason]?.includes(message))).toBe(true);
  }, 60_000);

  test("bad signal data (malformed JSON, unknown, uncaptured tables, unknown type) is logged and dead-lettered, and streaming goes on", async () => {
    const source = running?.source ?? start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    const errors = source.metrics.signalErrors;
    const signal = { schema, table: "signal" };
    await sql.query(
      `INSERT INTO ${signalTable} VALUES ('bad-json', 'execute-snapshot', '{"data-collections": [')`,
    );
    await insertSignal(sql, signal, "execute-snapshot", { "data-collections": [`${schema}.nope`] });
    await insertSignal(sql, signal, "execute-snapshot", { "data-collections": [`${schema}.uncaptured`] });
    await insertSignal(sql, signal, "explode", {});
    await until("four signals are refused", () => source.metrics.signalErrors >= errors + 4);
    const reasons = [
      "execute-snapshot: data is not JSON",
      `table ${schema}.nope does not exist`,
      `table ${schema}.uncaptured is not captured (CDC_TABLES)`,
      'unknown signal type "explode"',
    ];
    for (const r of reasons) expect([r, logged(`signal refused: ${r}`)]).toEqual([r, true]);
    await sql.query(`INSERT INTO ${schema}.other VALUES (3, 'after the bad signals')`);
    await confirmed(source);
    const { records } = await topicState(topicOf(other));
    expect(latestPerKey(records, topicOf(other)).get('{"id":3}')).toEqual({
      id: 3,
      v: "after the bad signals",
    });
    const dlq = records.filter((r) => r.topic === cdcDlqTopic(names.prefix));
    for (const r of reasons)
      expect([r, dlq.some((d) => d.headers[DLQ_HEADERS.reason]?.includes(r))]).toEqual([r, true]);
    expect(source.metrics.state).toBe("streaming");
  }, 60_000);

  test("a stop-snapshot signal ends a running incremental snapshot; a log signal is logged", async () => {
    const source = running?.source ?? start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    const signal = { schema, table: "signal" };
    const rows = source.metrics.incrementalRows;
    await insertSignal(sql, signal, "execute-snapshot", { "data-collections": [`${schema}.big`] });
    await until("the snapshot has begun", () => source.metrics.incrementalRows > rows);
    await insertSignal(sql, signal, "stop-snapshot", { "data-collections": [`${schema}.big`] });
    await until("the snapshot is stopped", () => source.metrics.incremental.tablesLeft === 0);
    expect(logged("incremental snapshot stopped")).toBe(true);
    expect(source.metrics.incrementalRows - rows).toBeLessThan(ROWS / 2);
    await insertSignal(sql, signal, "log", { message: "hello from the signal table" });
    await until("the log signal is logged", () =>
      logs.some((l) => l.msg === "signal" && l.message === "hello from the signal table"),
    );
  }, 60_000);

  test("a source stopped mid-snapshot resumes after the last chunk Kafka acknowledged", async () => {
    let source = running?.source ?? start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    await insertSignal(sql, { schema, table: "signal" }, "execute-snapshot", {
      "data-collections": [`${schema}.big`],
    });
    await until("part of the table is read", () => source.metrics.incremental.tableRows >= 3000);
    await stop();
    const saved = new IncrementalStateStore(stateDir, names.slot).read().tables[0];
    expect(saved?.table).toBe(`${schema}.big`);
    expect(saved?.lastKey).not.toBeNull();
    const before = saved?.rows ?? 0;
    expect(before).toBeGreaterThanOrEqual(3000);

    await sql.query(`UPDATE ${schema}.big SET note = 'while stopped' WHERE id % 97 = 0`);
    source = start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    await until("the resumed snapshot is done", () => source.metrics.incremental.tablesLeft === 0, 120_000);
    expect(logged("resumes after the last chunk Kafka acknowledged")).toBe(true);
    // It read only the rest (the chunk in flight at the stop may be read again), not the whole table.
    const total = (await tableState(sql, big)).size;
    expect(source.metrics.incrementalRows).toBeLessThanOrEqual(total - before + 250);
    await confirmed(source);
    const { records } = await topicState(topicOf(big));
    expect(diffStates(await tableState(sql, big), latestPerKey(records, topicOf(big)))).toEqual([]);
  }, 180_000);

  test("`bun run cdc --snapshot-table` inserts the signal the running source acts on, and refuses tables it does not capture", async () => {
    const source = running?.source ?? start(allTables);
    await until("streaming", () => source.metrics.state === "streaming");
    await sql.query(`INSERT INTO ${schema}.other SELECT g, 'row ' || g FROM generate_series(10, 600) g`);
    const env = {
      ...process.env,
      LOG_LEVEL: "error",
      CDC_SIGNAL_TABLE: signalTable,
      CDC_TABLES: allTables.join(","),
    };
    const cdc = async (args: string[], extra: Record<string, string> = {}) => {
      const child = Bun.spawn(["bun", "run", "cdc", ...args], {
        cwd: ROOT,
        env: { ...env, ...extra },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, stdout, stderr] = await Promise.all([
        child.exited,
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]);
      return { code, stdout, stderr };
    };
    const rows = source.metrics.incrementalRows;
    const ok = await cdc(["--snapshot-table", `${schema}.other`]);
    expect([ok.code, ok.stderr.includes("error")]).toEqual([0, false]);
    const printed = JSON.parse(ok.stdout.trim().split("\n").at(-1) ?? "{}") as {
      signal: string;
      tables: string[];
    };
    expect(printed.tables).toEqual([`${schema}.other`]);
    const row = await sql.query(`SELECT type, data FROM ${signalTable} WHERE id = $1`, [printed.signal]);
    expect(row.rows[0]?.type).toBe("execute-snapshot");
    expect(JSON.parse(row.rows[0]?.data)["data-collections"]).toEqual([`${schema}.other`]);
    await until("the other table is re-read", () => source.metrics.incrementalRows >= rows + 591);
    await until("the snapshot is done", () => source.metrics.incremental.tablesLeft === 0);

    const refused = await cdc(["--snapshot-table", `${schema}.uncaptured`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`not in CDC_TABLES, so not captured: ${schema}.uncaptured`);
    const off = await cdc(["--snapshot-table", `${schema}.other`], { CDC_SIGNAL_TABLE: "off" });
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("--snapshot-table needs CDC_SIGNAL_TABLE");
    await confirmed(source);
    const { records } = await topicState(topicOf(other));
    const reads = envelopesOf(records, topicOf(other)).filter((e) => e.envelope.op === "r");
    expect(
      reads.filter((e) => (e.envelope as CdcEnvelope).source.snapshot === "incremental").length,
    ).toBeGreaterThanOrEqual(591);
  }, 120_000);
});
