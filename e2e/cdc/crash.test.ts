/**
 * The delivery guarantee end to end: snapshot + random inserts, updates and deletes (multi-row
 * transactions, primary-key changes) while PostgreSQL restarts and the CDC process is killed with
 * SIGKILL mid-stream; replaying the topic in commit order must give exactly the source table, and
 * so must CDC silver after the bronze writer landed the topic in a lake.
 * PostgreSQL is a private instance (own port and state dir) so the restart never touches the shared stack.
 * CI size 2,000 changes; TRIBUTARY_SOAK=1 runs 10,000.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openSqlClient, serverWalLsn, slotInfo } from "@tributary/ingest/cdc/catalog";
import { completedSnapshots, replayTable } from "@tributary/ingest/cdc/replay";
import {
  diffStates,
  envelopesOf,
  readTopics,
  tableState,
  transactionEventsOf,
} from "@tributary/ingest/cdc/testing/support";
import { createTesouroTable } from "@tributary/ingest/tesouro/ddl";
import { DEFAULT_SAMPLE_FILE, readTesouroFile, upsertTesouroRows } from "@tributary/ingest/tesouro/loader";
import { groupByBaseDate } from "@tributary/ingest/tesouro/workload";
import { routedDataset } from "@tributary/lake/bronze/datasets";
import { startBronzeWriter } from "@tributary/lake/bronze/writer";
import { openDuckSession, sqlString } from "@tributary/lake/runtime/duckdb";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName, tesouroTable } from "@tributary/lake/silver/cdc/tables";
import { type Config, loadConfig } from "@tributary/shared/config";
import { cdcTransactionTopic } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
// The lake side (apps/lake): bronze writer and CDC silver, to prove silver equals the source too.
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { seededRandom } from "@tributary/shared/random";
import { uniqueName } from "@tributary/shared/testing/names";
import { type PrivateStack, startPrivateStack } from "@tributary/stack/testing/private-stack";
import type { Subprocess } from "bun";
import type pg from "pg";

const SOAK = process.env.TRIBUTARY_SOAK === "1";
const CHANGES = SOAK ? 10_000 : 2_000;
const kafka = createKafka(loadConfig().kafka, "cdc-crash-test");
const repoRoot = resolve(import.meta.dir, "../..");
const schema = uniqueName("cdccrash");
const table = { schema, table: "tesouro_prices" };
const childOptions = {
  prefix: uniqueName("cdcc"),
  slot: uniqueName("slot"),
  publication: uniqueName("pub"),
  tables: [`${schema}.tesouro_prices`],
  stateDir: mkdtempSync(join(tmpdir(), "tributary-cdc-crash-")),
};
let sql: pg.Client;
let privatePg: PrivateStack;
/** The shared stack's Kafka and S3, the private PostgreSQL. */
let config: Config;

function startChild(): Subprocess<"ignore", "pipe", "inherit"> {
  return Bun.spawn(
    [
      "bun",
      Bun.resolveSync("@tributary/ingest/cdc/testing/run-source", import.meta.dir),
      JSON.stringify(childOptions),
    ],
    {
      cwd: repoRoot,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
      env: { ...privatePg.env },
    },
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
  await createTesouroTable(sql, table);
  // Real data for the snapshot: the first 20 base dates of the Tesouro sample.
  const { rows } = readTesouroFile(DEFAULT_SAMPLE_FILE);
  for (const [, day] of groupByBaseDate(rows).slice(0, 20)) await upsertTesouroRows(sql, table, day);
}, 60_000);

// The slot, publication and schema go with the private cluster.
afterAll(async () => {
  await sql?.end().catch(() => undefined);
  rmSync(childOptions.stateDir, { recursive: true, force: true });
  await privatePg?.close();
}, 60_000);

/** Runs the bronze writer over the topic until it has every record, then CDC silver; returns silver's rows as text. */
async function silverCurrentRows(topic: string): Promise<string[]> {
  const lakeConfig = {
    ...config,
    lake: {
      ...config.lake,
      uri: join(childOptions.stateDir, "lake"),
      flushMs: 200,
      consumerGroup: uniqueName("group"),
    },
  };
  const store = createLakeStore(lakeConfig);
  const commitLog = new CommitLog(store);
  const log = createLogger("cdc-crash-lake", "warn");
  const table = tesouroTable(schema);
  const ds = { layer: "bronze" as const, name: cdcDatasetName(table) };
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const writer = await startBronzeWriter(lakeConfig, {
    topics: [topic],
    routes: new Map([[topic, routedDataset(topic, ds.name, "cdc")]]),
    metricsPort: null,
    logger: log,
  });
  try {
    for (let i = 0; i < 480; i++) {
      let done = true;
      for (const o of offsets)
        if ((await commitLog.resumeOffset(ds, topic, o.partition)) < BigInt(o.high)) done = false;
      if (done) break;
      await Bun.sleep(250);
    }
  } finally {
    await writer.stop();
  }
  // The silver job is killed with SIGKILL mid-run, several times, then runs to the end. A kill counts only if
  // the child had started a run and not finished it; the delay after the start is random but short, since
  // silver is incremental and a whole run over this lake takes well under a second.
  const random = seededRandom(11);
  let interrupted = 0;
  let attempts = 0;
  for (; attempts < 12 && interrupted < 3; attempts++) {
    const job = Bun.spawn(
      [
        "bun",
        join(import.meta.dir, "silver-child.ts"),
        lakeConfig.lake.uri,
        join(childOptions.stateDir, "work"),
        schema,
        "tesouro_prices",
        "400",
      ],
      { cwd: repoRoot, stdout: "pipe", stderr: "inherit" },
    );
    const lines: string[] = [];
    const reading = readLines(job.stdout, lines);
    const started = Date.now();
    while (
      !lines.some((l) => l.includes('"start"')) &&
      job.exitCode === null &&
      Date.now() - started < 30_000
    )
      await Bun.sleep(5);
    await Bun.sleep(Math.floor(random() * 120 * (1 + (attempts % 3))));
    job.kill(9);
    await job.exited;
    await reading;
    const starts = lines.filter((l) => l.includes('"start"')).length;
    const dones = lines.filter((l) => l.includes('"done"')).length;
    if (starts > dones) interrupted += 1;
  }
  console.log(JSON.stringify({ silver_kills_mid_run: interrupted, silver_kill_attempts: attempts }));
  expect(interrupted).toBeGreaterThan(0);
  const env = { store, commitLog, log, scratchDir: join(childOptions.stateDir, "work") };
  let silver = await runCdcSilver(env, table);
  while (silver.events > 0 || silver.filesWritten > 0) silver = await runCdcSilver(env, table);
  using duck = await openDuckSession();
  const rows = await duck.rows(
    `SELECT concat_ws('|', bond_type, maturity_date::VARCHAR, base_date::VARCHAR, buy_rate::VARCHAR, sell_rate::VARCHAR,
            buy_price::VARCHAR, sell_price::VARCHAR, base_price::VARCHAR) AS r
     FROM read_parquet(${sqlString(store.url(silver.currentGlob))}) ORDER BY 1`,
  );
  return rows.map((r) => String(r.r));
}

/** Collects a child's stdout lines into `into` until the stream ends. */
async function readLines(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    into.push(...parts);
  }
  if (pending) into.push(pending);
}

interface Key {
  readonly bond_type: string;
  readonly maturity_date: string;
  readonly base_date: string;
}

/** Random changes in transactions of 1–8 statements, keeping a mirror of which keys exist. */
async function randomChanges(
  client: pg.Client,
  count: number,
  keys: Key[],
  random: () => number,
): Promise<number> {
  const q = `${schema}.tesouro_prices`;
  const bondTypes = ["Tesouro Selic", "Tesouro IPCA+", "Tesouro Prefixado", "Tesouro Educa+"];
  const date = (y0: number): string =>
    `${y0 + Math.floor(random() * 8)}-${String(1 + Math.floor(random() * 12)).padStart(2, "0")}-${String(1 + Math.floor(random() * 28)).padStart(2, "0")}`;
  const price = (): string =>
    `${Math.floor(random() * 9000) + 100}.${String(Math.floor(random() * 100)).padStart(2, "0")}`;
  const keyOf = (k: Key): string => `${k.bond_type}|${k.maturity_date}|${k.base_date}`;
  const existing = new Set(keys.map(keyOf));
  let done = 0;
  while (done < count) {
    const size = Math.min(count - done, 1 + Math.floor(random() * 8));
    const staged: (() => void)[] = [];
    await client.query("BEGIN");
    for (let i = 0; i < size; i++) {
      const roll = random();
      if (roll < 0.45 || keys.length < 10) {
        const k = {
          bond_type: bondTypes[Math.floor(random() * bondTypes.length)] as string,
          maturity_date: date(2027),
          base_date: date(2026),
        };
        if (existing.has(keyOf(k))) continue;
        await client.query(`INSERT INTO ${q} VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, [
          k.bond_type,
          k.maturity_date,
          k.base_date,
          "7.64",
          random() < 0.1 ? null : "-0.01",
          price(),
          price(),
        ]);
        existing.add(keyOf(k));
        staged.push(() => keys.push(k));
      } else if (roll < 0.8) {
        const k = keys[Math.floor(random() * keys.length)] as Key;
        await client.query(
          `UPDATE ${q} SET buy_price = $4, sell_rate = sell_rate + 0.01 WHERE bond_type = $1 AND maturity_date = $2 AND base_date = $3`,
          [k.bond_type, k.maturity_date, k.base_date, price()],
        );
      } else if (roll < 0.97) {
        const idx = Math.floor(random() * keys.length);
        const k = keys[idx] as Key;
        if (!existing.has(keyOf(k))) continue;
        await client.query(
          `DELETE FROM ${q} WHERE bond_type = $1 AND maturity_date = $2 AND base_date = $3`,
          [k.bond_type, k.maturity_date, k.base_date],
        );
        existing.delete(keyOf(k));
        staged.push(() => keys.splice(keys.indexOf(k), 1));
      } else {
        // A primary-key change: the quote is moved to another base date.
        const k = keys[Math.floor(random() * keys.length)] as Key;
        const moved = { ...k, base_date: date(2034) };
        if (!existing.has(keyOf(k)) || existing.has(keyOf(moved))) continue;
        await client.query(
          `UPDATE ${q} SET base_date = $4 WHERE bond_type = $1 AND maturity_date = $2 AND base_date = $3`,
          [k.bond_type, k.maturity_date, k.base_date, moved.base_date],
        );
        existing.delete(keyOf(k));
        existing.add(keyOf(moved));
        staged.push(() => keys.splice(keys.indexOf(k), 1, moved));
      }
      done++;
    }
    await client.query("COMMIT");
    for (const apply of staged) apply();
  }
  return done;
}

test(
  `after a snapshot and ${CHANGES} random changes with a PostgreSQL restart and a kill -9 of the CDC process, the topic replays to exactly the source table and silver equals it row for row`,
  async () => {
    const random = seededRandom(7);
    const keys: Key[] = (
      await sql.query<Key>(
        `SELECT bond_type, maturity_date::text, base_date::text FROM ${schema}.tesouro_prices`,
      )
    ).rows;
    let child = startChild();
    try {
      await waitForSlotActive(60_000);
      const third = Math.floor(CHANGES / 3);
      await randomChanges(sql, third, keys, random);

      // PostgreSQL restarts while the CDC process is streaming.
      await sql.end();
      await restartPostgres();
      sql = await connectWithRetry();
      await randomChanges(sql, third, keys, random);

      // kill -9 while changes are still flowing.
      const work = randomChanges(sql, CHANGES - 2 * third, keys, random);
      await Bun.sleep(150);
      child.kill(9);
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");
      await work;
      child = startChild();

      const end = await serverWalLsn(sql);
      const deadline = Date.now() + (SOAK ? 300_000 : 120_000);
      for (;;) {
        const info = await slotInfo(sql, childOptions.slot);
        if ((info?.confirmedFlushLsn ?? 0n) >= end) break;
        if (Date.now() > deadline) throw new Error("the CDC process did not catch up in time");
        await Bun.sleep(250);
      }

      const topic = cdcTopic(childOptions.prefix, schema, "tesouro_prices");
      const txTopic = cdcTransactionTopic(childOptions.prefix);
      const records = await readTopics(kafka, [topic, txTopic], 60_000, uniqueName("g"));
      const events = envelopesOf(records, topic);
      const replayed = replayTable(
        events,
        completedSnapshots(transactionEventsOf(records, txTopic), `${schema}.tesouro_prices`),
      );
      const expected = await tableState(sql, table);
      expect(diffStates(expected, replayed.rows)).toEqual([]);
      expect(replayed.rows.size).toBe(expected.size);
      // Every streamed change made it: at least one event per change (plus the snapshot reads).
      expect(replayed.events).toBeGreaterThanOrEqual(CHANGES);

      // Silver: the bronze writer lands the topic in the lake, CDC silver folds it: equal to the table.
      const silverRows = await silverCurrentRows(topic);
      const pgRows = (
        await sql.query(
          `SELECT concat_ws('|', bond_type, maturity_date::text, base_date::text, buy_rate::text, sell_rate::text,
                  buy_price::text, sell_price::text, base_price::text) AS r FROM ${schema}.tesouro_prices ORDER BY 1`,
        )
      ).rows.map((r) => (r as { r: string }).r);
      expect(silverRows.length).toBe(pgRows.length);
      expect(silverRows).toEqual(pgRows);
      console.log(
        JSON.stringify({
          changes: CHANGES,
          rows: expected.size,
          events: replayed.events,
          duplicates_after_crash: replayed.duplicates,
          records: records.length,
          silver_rows: silverRows.length,
        }),
      );
    } finally {
      child.kill("SIGTERM");
      await Promise.race([child.exited, Bun.sleep(10_000)]);
      if (child.exitCode === null) child.kill(9);
    }
  },
  SOAK ? 900_000 : 300_000,
);
