/**
 * Issue 15: CDC silver folds an incremental snapshot (CDC_SIGNAL_TABLE, `execute-snapshot`) into the
 * table instead of taking it for a new initial snapshot. A real table is captured (its initial
 * snapshot and changes go to silver), then re-read in small chunks while another connection
 * inserts, updates, deletes and moves keys; silver runs mid-snapshot (with a chunk split over two
 * runs) and at the end. Each incremental run equals a replay of what it has seen, it never rebuilds,
 * and at the end both the incremental silver and a one-run rebuild equal `SELECT *` from the table,
 * row for row and type for type (CDC_SCHEMAS=on types the columns). Before the fix the latest chunk's
 * reads became the snapshot cut and every row outside it was gone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import { completedSnapshots, replayTable } from "@tributary/ingest/cdc/replay";
import { CdcSource } from "@tributary/ingest/cdc/source";
import {
  dropCapture,
  readTopics,
  type TopicRecord,
  waitConfirmed,
} from "@tributary/ingest/cdc/testing/support";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import { loadConfig } from "@tributary/shared/config";
import {
  type CdcEnvelope,
  type CdcTransactionEvent,
  cdcTransactionTopic,
} from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type pg from "pg";
import { landCdcSilver } from "./land-silver.ts";

const config = loadConfig();
const kafka = createKafka(config.kafka, "cdc-inc-silver-test");
const schema = uniqueName("incsil");
const names = { prefix: uniqueName("incs"), slot: uniqueName("isslot"), publication: uniqueName("ispub") };
const stateDir = mkdtempSync(join(tmpdir(), "tributary-inc-silver-"));
const log = createLogger("cdc-inc-silver-test", "warn");
const ref = { schema, table: "items" };
const topic = cdcTopic(names.prefix, schema, "items");
const ROWS = 3000;
const CHUNK = 200;
const lake = createTempLake();
const rebuiltLake = createTempLake();
let sql: pg.Client;
let source: CdcSource;
const abort = new AbortController();
let running: Promise<void> | undefined;

/** Each column: its DuckDB type in silver, and the same canonical text from PostgreSQL and DuckDB. */
const COLUMNS: readonly { name: string; duck: string; pg: string; lake: string }[] = [
  { name: "region", duck: "VARCHAR", pg: "region", lake: "region" },
  { name: "id", duck: "INTEGER", pg: "id::text", lake: "id::VARCHAR" },
  { name: "qty", duck: "DECIMAL(12,2)", pg: "qty::text", lake: "qty::VARCHAR" },
  { name: "note", duck: "VARCHAR", pg: "note", lake: "note" },
  { name: "seen_at", duck: "TIMESTAMP WITH TIME ZONE", pg: "seen_at::text", lake: "seen_at::VARCHAR" },
];

beforeAll(async () => {
  sql = await openSqlClient(config.postgres.url, "cdc-inc-silver-test");
  await sql.query("SET TIME ZONE 'UTC'");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.items (region text, id int, qty numeric(12,2) NOT NULL, note text,
    seen_at timestamptz, PRIMARY KEY (region, id))`);
  await sql.query(`INSERT INTO ${schema}.items SELECT 'r' || (g % 5), g, g * 1.25, md5(g::text),
    timestamptz '2024-08-15 00:00:00+00' + g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
  source = new CdcSource({
    ...names,
    pgUrl: config.postgres.url,
    kafka,
    kafkaConfig: config.kafka,
    tables: [`${schema}.items`],
    stateDir,
    log,
    signalTable: `${schema}.signal`,
    incrementalChunkSize: CHUNK,
    envelope: { ...DEFAULT_ENVELOPE, schemas: true },
  });
  running = source.run(abort.signal);
  await until("streaming", () => source.metrics.state === "streaming");
}, 120_000);

afterAll(async () => {
  abort.abort();
  await running?.catch(() => undefined);
  await dropCapture(sql, { slot: names.slot, publication: names.publication, schema });
  await sql.end();
  lake.cleanup();
  rebuiltLake.cleanup();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await Bun.sleep(10);
  }
}

/** Records of the table's topic and the transaction topic, read from the beginning. */
const readAll = (): Promise<TopicRecord[]> =>
  readTopics(kafka, [topic, cdcTransactionTopic(names.prefix)], 30_000, uniqueName("g"));

const landed = new Set<string>();
/** Lands the table's records not landed yet (in `parts` bronze commits, silver after each). */
async function landNew(records: readonly TopicRecord[], parts = 1) {
  // Tombstones are for compacted topics; bronze keeps the change events.
  const fresh = records.filter(
    (r) => r.topic === topic && r.value !== null && !landed.has(`${r.partition}/${r.offset}`),
  );
  for (const r of fresh) landed.add(`${r.partition}/${r.offset}`);
  const results = [];
  const size = Math.ceil(fresh.length / parts);
  for (let i = 0; i < parts; i++)
    results.push(await landCdcSilver(lake, fresh.slice(i * size, (i + 1) * size), ref));
  return results;
}

/** A record's JSON without the converter's `{schema, payload}` wrapping (CDC_SCHEMAS=on). */
function unwrap<T>(text: string): T {
  const json = JSON.parse(text);
  return "schema" in json && "payload" in json ? json.payload : json;
}
const isIncrementalRead = (r: TopicRecord): boolean =>
  r.topic === topic && r.value !== null && unwrap<CdcEnvelope>(r.value).source.snapshot === "incremental";

/** The keys replaying the records gives (ingest/src/cdc/replay.ts), as canonical text sorted by key. */
function replayed(records: readonly TopicRecord[]): unknown[] {
  const items = records
    .filter((r) => r.topic === topic && r.value !== null)
    .map((r) => ({
      key: JSON.stringify(unwrap(r.key as string)),
      envelope: unwrap<CdcEnvelope>(r.value as string),
    }));
  const tx = records.filter((r) => r.topic === cdcTransactionTopic(names.prefix) && r.value !== null);
  const snapshots = completedSnapshots(
    tx.map((r) => unwrap<CdcTransactionEvent>(r.value as string)),
    `${schema}.items`,
  );
  const text = (v: unknown) => String(v);
  return [...replayTable(items, snapshots).rows.values()]
    .map((row) => ({ region: text(row.region), id: text(row.id) }))
    .sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : Number(a.id) - Number(b.id)));
}

/** The table (or its keys) as canonical text, sorted by key. */
async function pgRows(keysOnly = false): Promise<unknown[]> {
  const cols = keysOnly ? COLUMNS.slice(0, 2) : COLUMNS;
  const res = await sql.query(
    `SELECT ${cols.map((c) => `${c.pg} AS ${c.name}`).join(", ")} FROM ${schema}.items ORDER BY items.region COLLATE "C", items.id`,
  );
  return res.rows;
}

/** Silver's current state (or its keys) as the same canonical text, sorted by key. */
async function silverRows(of: TempLake, keysOnly = false): Promise<unknown[]> {
  const cols = keysOnly ? COLUMNS.slice(0, 2) : COLUMNS;
  return of.query(
    `SELECT ${cols.map((c) => `${c.lake} AS "${c.name}"`).join(", ")} FROM ${of.scan("silver", cdcDatasetName(ref))} ORDER BY region, id::INTEGER`,
  );
}

async function silverTypes(of: TempLake): Promise<Record<string, string>> {
  const rows = await of.query(`DESCRIBE SELECT * FROM ${of.scan("silver", cdcDatasetName(ref))}`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

/** Small transactions of inserts, updates, deletes and key moves until `stopped()`. */
async function churn(stopped: () => boolean): Promise<number> {
  const client = await openSqlClient(config.postgres.url, "cdc-inc-silver-churn");
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let ops = 0;
  try {
    while (!stopped()) {
      await client.query("BEGIN");
      try {
        for (let i = 0; i < 3; i++, ops++) {
          const g = 1 + rand(ROWS);
          const key = [`r${g % 5}`, g];
          switch (rand(5)) {
            case 0:
              await client.query(`INSERT INTO ${schema}.items VALUES ($1, $2, 9.99, 'new', now())`, [
                `r${ops % 5}`,
                10_000 + ops,
              ]);
              break;
            case 1:
            case 2:
              await client.query(
                `UPDATE ${schema}.items SET qty = qty + 1, note = 'u' || $3, seen_at = now() WHERE region = $1 AND id = $2`,
                [...key, ops],
              );
              break;
            case 3:
              await client.query(`DELETE FROM ${schema}.items WHERE region = $1 AND id = $2`, key);
              break;
            default: // a key move inside the snapshot's key range
              await client.query(
                `UPDATE ${schema}.items SET region = 'm' || region WHERE region = $1 AND id = $2`,
                key,
              );
          }
        }
        await client.query("COMMIT");
      } catch {
        await client.query("ROLLBACK");
      }
      await Bun.sleep(3);
    }
    return ops;
  } finally {
    await client.end();
  }
}

describe("CDC silver and incremental snapshots", () => {
  test("an incremental snapshot under concurrent changes folds into silver, mid-snapshot and at the end, as SELECT * FROM the table", async () => {
    // 1. The initial snapshot and a few changes: silver equals the table.
    await sql.query(`UPDATE ${schema}.items SET note = 'before' WHERE id % 50 = 0`);
    await sql.query(`DELETE FROM ${schema}.items WHERE id % 97 = 0`);
    await waitConfirmed(sql, source.metrics, 20_000);
    const [first] = await landNew(await readAll());
    expect(first?.rebuilt).toBe(true);
    expect(await silverRows(lake)).toEqual(await pgRows());

    // 2. An incremental snapshot of the table while another connection changes it.
    let stopChurn = false;
    const churning = churn(() => stopChurn);
    // The signal as Debezium documents it: a row of the signal table (the stream carries it in order).
    await sql.query(`INSERT INTO ${schema}.signal VALUES ($1, 'execute-snapshot', $2)`, [
      uniqueName("sig"),
      JSON.stringify({ "data-collections": [`${schema}.items`], type: "incremental" }),
    ]);
    const inc = source.metrics.incremental;
    await until("a third of the table is re-read", () => inc.tableRows >= ROWS / 3, 120_000);

    // 3. Mid-snapshot: silver (a chunk split over two runs) equals a replay of what it has seen.
    const mid = await readAll();
    expect(mid.filter(isIncrementalRead).length).toBeGreaterThanOrEqual(CHUNK);
    const midRuns = await landNew(mid, 2);
    expect(midRuns.at(-1)?.rows).toBeGreaterThan(ROWS * 0.9);
    expect(await silverRows(lake, true)).toEqual(replayed(mid));
    expect(midRuns.map((r) => r.rebuilt)).toEqual([false, false]);

    // 4. The snapshot ends, the changes stop: silver equals the table, incrementally and rebuilt.
    await until("the snapshot is done", () => inc.tablesLeft === 0, 180_000);
    stopChurn = true;
    expect(await churning).toBeGreaterThan(50);
    await waitConfirmed(sql, source.metrics, 20_000);
    const all = await readAll();
    expect(all.filter(isIncrementalRead).length).toBeGreaterThan(ROWS * 0.8);
    const [last] = await landNew(all);
    const expected = await pgRows();
    expect(expected.length).toBeGreaterThan(ROWS * 0.8);
    expect(await silverRows(lake)).toEqual(expected);
    expect(last?.rebuilt).toBe(false);
    const rebuilt = await landCdcSilver(
      rebuiltLake,
      all.filter((r) => r.topic === topic && r.value !== null),
      ref,
    );
    expect(rebuilt.rebuilt).toBe(true);
    expect(await silverRows(rebuiltLake)).toEqual(expected);
    for (const l of [lake, rebuiltLake]) {
      const types = await silverTypes(l);
      for (const c of COLUMNS)
        expect({ column: c.name, type: types[c.name] }).toEqual({ column: c.name, type: c.duck });
    }
  }, 360_000);
});
