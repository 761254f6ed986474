/**
 * The delivery guarantee end to end, for three kinds of table captured by one CDC process (one slot,
 * one publication): Tesouro (the real sample), a composite-key ledger of several column types with a
 * TOASTed text most updates leave unchanged, and a keyless REPLICA IDENTITY FULL tally with equal rows.
 * Snapshot + random inserts, updates and deletes (multi-row transactions over the tables, primary-key
 * changes) while PostgreSQL restarts and the CDC process is killed with SIGKILL mid-stream; replaying
 * each topic in commit order must give exactly its table (a multiset for the keyless one), and so must
 * CDC silver after the bronze writer landed the topics, with each silver job killed mid-run too.
 * PostgreSQL is a private instance (own port and state dir) so the restart never touches the shared stack.
 * CI size 5,000 changes over the three tables (2,000 of them Tesouro's); TRIBUTARY_SOAK=1 runs 25,000.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openSqlClient, serverWalLsn, slotInfo } from "@tributary/ingest/cdc/catalog";
import { completedSnapshots, replayMultiset, replayTable } from "@tributary/ingest/cdc/replay";
import {
  diffStates,
  encodedRows,
  envelopesOf,
  readTopics,
  tableState,
  transactionEventsOf,
} from "@tributary/ingest/cdc/testing/support";
import { createTesouroTable } from "@tributary/ingest/tesouro/ddl";
import { DEFAULT_SAMPLE_FILE, readTesouroFile, upsertTesouroRows } from "@tributary/ingest/tesouro/loader";
import { groupByBaseDate } from "@tributary/ingest/tesouro/workload";
import { openDuckSession, sqlString } from "@tributary/lake/runtime/duckdb";
import { type Config, loadConfig } from "@tributary/shared/config";
import { type CdcRow, cdcTransactionTopic, UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { seededRandom } from "@tributary/shared/random";
import { uniqueName } from "@tributary/shared/testing/names";
import { type PrivateStack, startPrivateStack } from "@tributary/stack/testing/private-stack";
import type { Subprocess } from "bun";
import type pg from "pg";
import { type CrashLake, landTopics, silverAfterKills } from "./crash-lake.ts";
import {
  LEDGER_DDL,
  ledgerWorkload,
  randomChanges,
  TALLY_DDL,
  type TableWorkload,
  tallyWorkload,
  tesouroWorkload,
} from "./crash-workload.ts";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const CHANGES = SOAK ? 25_000 : 5_000;
const kafka = createKafka(loadConfig().kafka, "cdc-crash-test");
const repoRoot = resolve(import.meta.dir, "../..");
const schema = uniqueName("cdccrash");
const TABLES = ["tesouro_prices", "ledger", "tally"] as const;
const childOptions = {
  prefix: uniqueName("cdcc"),
  slot: uniqueName("slot"),
  publication: uniqueName("pub"),
  tables: TABLES.map((t) => `${schema}.${t}`),
  stateDir: mkdtempSync(join(tmpdir(), "tributary-cdc-crash-")),
};
let sql: pg.Client;
let privatePg: PrivateStack;
/** The shared stack's Kafka and S3, the private PostgreSQL. */
let config: Config;
let workloads: TableWorkload[];

function startChild(): Subprocess<"ignore", "pipe", "inherit"> {
  return Bun.spawn(
    [
      "bun",
      Bun.resolveSync("@tributary/ingest/cdc/testing/run-source", import.meta.dir),
      JSON.stringify(childOptions),
    ],
    { cwd: repoRoot, stdin: "ignore", stdout: "pipe", stderr: "inherit", env: { ...privatePg.env } },
  );
}

async function waitForSlotActive(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await slotInfo(sql, childOptions.slot).catch(() => null);
    if (info?.active) return;
    await Bun.sleep(100);
  }
  throw new Error(`slot ${childOptions.slot} never became active`);
}

/** Restarts the private PostgreSQL as `bun run stack down/up` would: fast stop, then start (same options). */
async function restartPostgres(): Promise<void> {
  await privatePg.down();
  const [status] = await privatePg.up();
  if (status?.state !== "up") throw new Error(`private PostgreSQL did not come back: ${status?.state}`);
}

async function connectWithRetry(): Promise<pg.Client> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openSqlClient(config.postgres.url, "cdc-crash-test");
    } catch (err) {
      if (attempt >= 50) throw err;
      await Bun.sleep(200);
    }
  }
}

beforeAll(async () => {
  privatePg = await startPrivateStack(["postgres"]);
  config = privatePg.config;
  sql = await openSqlClient(config.postgres.url, "cdc-crash-test");
  await createTesouroTable(sql, { schema, table: "tesouro_prices" });
  for (const s of [...LEDGER_DDL(schema), ...TALLY_DDL(schema)]) await sql.query(s);
  // Real data for the snapshot: the first 20 base dates of the Tesouro sample; random rows for the others.
  const { rows } = readTesouroFile(DEFAULT_SAMPLE_FILE);
  for (const [, day] of groupByBaseDate(rows).slice(0, 20))
    await upsertTesouroRows(sql, { schema, table: "tesouro_prices" }, day);
  workloads = [await tesouroWorkload(sql, schema, 4), ledgerWorkload(schema, 4), tallyWorkload(schema, 2)];
  await randomChanges(sql, 150, workloads.slice(1), seededRandom(3));
}, 60_000);

// The slot, publication and schema go with the private cluster.
afterAll(async () => {
  await sql?.end().catch(() => undefined);
  rmSync(childOptions.stateDir, { recursive: true, force: true });
  await privatePg?.close();
}, 60_000);

/** The kill schedule: a third of the changes, a PostgreSQL restart, a third, a kill -9 of the CDC process mid-third. */
async function changesUnderCrashes(random: () => number): Promise<Record<string, number>> {
  const perTable: Record<string, number> = {};
  const count = (done: Record<string, number>) => {
    for (const [t, n] of Object.entries(done)) perTable[t] = (perTable[t] ?? 0) + n;
  };
  let child = startChild();
  try {
    await waitForSlotActive(60_000);
    const third = Math.floor(CHANGES / 3);
    count(await randomChanges(sql, third, workloads, random));

    // PostgreSQL restarts while the CDC process is streaming.
    await sql.end();
    await restartPostgres();
    sql = await connectWithRetry();
    count(await randomChanges(sql, third, workloads, random));

    // kill -9 while changes are still flowing.
    let flowing = true;
    const work = randomChanges(sql, CHANGES - 2 * third, workloads, random).finally(() => {
      flowing = false;
    });
    await Bun.sleep(150);
    expect(flowing).toBe(true);
    child.kill(9);
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL");
    count(await work);
    child = startChild();

    const end = await serverWalLsn(sql);
    const deadline = Date.now() + (SOAK ? 300_000 : 120_000);
    for (;;) {
      const info = await slotInfo(sql, childOptions.slot);
      if ((info?.confirmedFlushLsn ?? 0n) >= end) break;
      if (Date.now() > deadline) throw new Error("the CDC process did not catch up in time");
      await Bun.sleep(250);
    }
    return perTable;
  } finally {
    child.kill("SIGTERM");
    await Promise.race([child.exited, Bun.sleep(10_000)]);
    if (child.exitCode === null) child.kill(9);
  }
}

/** A row as silver's text columns hold it (no declared schema, no envelope schemas): strings as they are, anything else as JSON text. */
const silverText = (row: CdcRow): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(row).map(([c, v]) => [c, v === null || typeof v === "string" ? v : JSON.stringify(v)]),
    ),
  );

/** Sorted rows with how often each occurs: a multiset, comparable with toEqual. */
function counted(rows: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The table's current silver rows: Tesouro typed (the columns' text, `|`-joined), the others as JSON of their text columns. */
async function silverRows(lake: CrashLake, table: string, glob: string): Promise<string[]> {
  using duck = await openDuckSession();
  const from = `read_parquet(${sqlString(lake.store.url(glob))})`;
  const rows =
    table === "tesouro_prices"
      ? await duck.rows(
          `SELECT concat_ws('|', bond_type, maturity_date::VARCHAR, base_date::VARCHAR, buy_rate::VARCHAR, sell_rate::VARCHAR,
            buy_price::VARCHAR, sell_price::VARCHAR, base_price::VARCHAR) AS r FROM ${from} ORDER BY 1`,
        )
      : (await duck.rows(`SELECT * EXCLUDE (_op, _lsn, _commit_ts, _absent_columns) FROM ${from}`)).map(
          (r) => ({
            r: JSON.stringify(r),
          }),
        );
  return rows.map((r) => String(r.r)).sort();
}

/** `SELECT *` in the canonical text form `silverRows` gives. */
async function pgRows(table: string): Promise<string[]> {
  if (table !== "tesouro_prices")
    return (await encodedRows(sql, { schema, table })).map((r) => silverText(r.row)).sort();
  const res = await sql.query<{ r: string }>(
    `SELECT concat_ws('|', bond_type, maturity_date::text, base_date::text, buy_rate::text, sell_rate::text,
       buy_price::text, sell_price::text, base_price::text) AS r FROM ${schema}.tesouro_prices`,
  );
  return res.rows.map((r) => r.r).sort();
}

test(
  `after a snapshot and ${CHANGES} random changes over a Tesouro, a composite-key and a keyless table, with a PostgreSQL restart and a kill -9 of the CDC process, each topic replays to exactly its table and silver equals it`,
  async () => {
    const perTable = await changesUnderCrashes(seededRandom(7));
    const topics = TABLES.map((t) => cdcTopic(childOptions.prefix, schema, t));
    const txTopic = cdcTransactionTopic(childOptions.prefix);
    const records = await readTopics(kafka, [...topics, txTopic], 60_000, uniqueName("g"));
    const txEvents = transactionEventsOf(records, txTopic);
    const figures: Record<string, unknown>[] = [];
    for (const [i, table] of TABLES.entries()) {
      const events = envelopesOf(records, topics[i] as string);
      const snapshots = completedSnapshots(txEvents, `${schema}.${table}`);
      if (table === "tally") {
        const replayed = replayMultiset(events, snapshots);
        const expected = counted(
          (await encodedRows(sql, { schema, table })).map((r) => JSON.stringify(r.row)),
        );
        expect({ table, rows: [...replayed.rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) }).toEqual({
          table,
          rows: expected,
        });
        expect(expected.length).toBeLessThan(expected.reduce((n, [, count]) => n + count, 0)); // equal rows exist
        figures.push({ table, events: replayed.events, duplicates_after_crash: replayed.duplicates });
      } else {
        const replayed = replayTable(events, snapshots);
        // Updates and key changes that leave the ledger's large text alone send the placeholder, which
        // replay fills (for a key change's create, from the old key).
        const placeholders = events.filter((e) => e.envelope.after?.big === UNAVAILABLE_VALUE);
        const moved = placeholders.filter((e) => e.envelope.op === "c").length;
        if (table === "ledger") expect([placeholders.length, moved].every((n) => n > 0)).toBe(true);
        const expected = await tableState(sql, { schema, table });
        expect({ table, diff: diffStates(expected, replayed.rows) }).toEqual({ table, diff: [] });
        expect(replayed.rows.size).toBe(expected.size);
        figures.push({
          table,
          events: replayed.events,
          duplicates_after_crash: replayed.duplicates,
          ...(table === "ledger"
            ? { toast_placeholders: placeholders.length, key_change_placeholders: moved }
            : {}),
        });
      }
    }
    // Every streamed change made it: at least one event per change (plus the snapshot reads).
    for (const [i, table] of TABLES.entries())
      expect((figures[i]?.events as number) ?? 0).toBeGreaterThanOrEqual(perTable[table] ?? 0);

    // Silver: the bronze writer lands the topics in the lake, CDC silver folds each: equal to its table.
    const lake = await landTopics(config, kafka, {
      prefix: childOptions.prefix,
      tables: childOptions.tables,
      dir: childOptions.stateDir,
    });
    for (const [i, table] of TABLES.entries()) {
      const silver = await silverAfterKills(lake, `${schema}.${table}`, 11 + i);
      expect(silver.killsMidRun).toBeGreaterThan(0);
      const got = await silverRows(lake, table, silver.currentGlob);
      const expected = await pgRows(table);
      expect({ table, rows: counted(got) }).toEqual({ table, rows: counted(expected) });
      Object.assign(figures[i] ?? {}, {
        changes: perTable[table] ?? 0,
        rows: expected.length,
        distinct_rows: counted(expected).length,
        silver_rows: got.length,
        silver_kills_mid_run: silver.killsMidRun,
        silver_kill_attempts: silver.attempts,
      });
    }
    console.log(
      JSON.stringify({ changes: CHANGES, cdc_kills_mid_stream: 1, records: records.length, tables: figures }),
    );
  },
  SOAK ? 900_000 : 300_000,
);
