/**
 * The CDC benchmark against the real Debezium, in one run:
 * 1. the same burst of Tesouro-shaped rows through Tributary's source and through Kafka Connect +
 *    Debezium (each alone while it captures, each warmed up first), rows/s from the first commit
 *    until the tool's topic holds every row, and the ratio (goal ≥ 2);
 * 2. the initial snapshot of a large table by Tributary: rows/s and the process's peak RSS;
 * 3. silver for that table, then again after 1,000 changes (the incremental goal is ≤ 2 s);
 * 4. the same for a keyless copy of its first rows (REPLICA IDENTITY FULL envelopes): the multiset
 *    rebuild, then 1,000 updates of random rows folded incrementally.
 * Sizes are arguments; `--quick` uses small ones.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropSlot, openSqlClient, tableInfo } from "@tributary/ingest/cdc/catalog";
import { encodeChange, encodeSnapshotRead, tableShape } from "@tributary/ingest/cdc/envelope";
import { CdcSource } from "@tributary/ingest/cdc/source";
import { createTesouroTable } from "@tributary/ingest/tesouro/ddl";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName } from "@tributary/lake/silver/cdc/tables";
import { commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { debeziumConnectorConfig } from "@tributary/shared/cdc/debezium-connector";
import type { Config } from "@tributary/shared/config";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { uniqueName } from "@tributary/shared/testing/names";
import { putConnector, startConnectWorker, waitConnectorRunning } from "@tributary/stack/connect";
import type { Kafka } from "kafkajs";

type SqlClient = Awaited<ReturnType<typeof openSqlClient>>;
const RAW_TEXT = { getTypeParser: () => (t: string) => t };

export interface CdcComparisonOptions {
  readonly config: Config;
  /** Rows of the burst each tool captures (default 100,000). */
  readonly burstRows?: number;
  /** Rows of the table snapshotted and turned into silver (default 5,000,000). */
  readonly snapshotRows?: number;
  readonly rowsPerTransaction?: number;
  /** Progress lines (the bench harness prints them on standard error). */
  readonly say?: (line: string) => void;
}

export interface CdcComparison {
  readonly tributary_rows_per_s: number;
  readonly debezium_rows_per_s: number;
  readonly ratio_to_debezium: number;
  readonly snapshot_rows_per_s: number;
  readonly snapshot_peak_rss_mb: number;
  readonly silver_full_s: number;
  readonly silver_full_cpu_s: number;
  /** 1,000 updates of rows that are neighbours in the table's order (the first 1,000 rows). */
  readonly silver_1000_changes_s: number;
  readonly silver_1000_changes_cpu_s: number;
  /** 1,000 updates of rows drawn at random from the whole table. */
  readonly silver_1000_random_changes_s: number;
  readonly silver_1000_random_changes_cpu_s: number;
  readonly snapshot_rows: number;
  /** Rows of the keyless copy, its multiset rebuild, and 1,000 random updates folded onto it. */
  readonly keyless_rows: number;
  readonly keyless_silver_full_s: number;
  readonly keyless_silver_full_cpu_s: number;
  readonly keyless_silver_1000_changes_s: number;
  readonly keyless_silver_1000_changes_cpu_s: number;
}

async function insertBurst(
  sql: SqlClient,
  qualified: string,
  from: number,
  rows: number,
  perTx: number,
): Promise<void> {
  for (let start = from; start < from + rows; start += perTx) {
    const end = Math.min(from + rows, start + perTx) - 1;
    await sql.query(
      `INSERT INTO ${qualified}
       SELECT 'Tesouro IPCA+ com Juros Semestrais', DATE '2030-01-01' + (g % 7000), DATE '2000-01-01' + (g / 7000),
              7.64 + (g % 50) / 100.0, 7.76, 4154.13 + (g % 1000) / 100.0, 4125.25, 4125.25
       FROM generate_series($1::int, $2::int) g`,
      [start, end],
    );
  }
}

/** Records in a topic (sum over partitions of high − low). */
async function topicCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function waitCount(kafka: Kafka, topic: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await topicCount(kafka, topic)) >= count) return performance.now();
    if (Date.now() > deadline) throw new Error(`${topic} did not reach ${count} records in ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

/** Rows/s of one burst: from before the first commit until the topic holds `before + rows` records. */
async function timedBurst(
  kafka: Kafka,
  sql: SqlClient,
  qualified: string,
  topic: string,
  from: number,
  rows: number,
  perTx: number,
): Promise<number> {
  const before = await topicCount(kafka, topic);
  const started = performance.now();
  await insertBurst(sql, qualified, from, rows, perTx);
  const done = await waitCount(kafka, topic, before + rows, 600_000);
  return Math.round((rows * 1000) / (done - started));
}

export async function runCdcComparison(opts: CdcComparisonOptions): Promise<CdcComparison> {
  const { config } = opts;
  const burst = opts.burstRows ?? 100_000;
  const snapshotRows = opts.snapshotRows ?? 5_000_000;
  const perTx = opts.rowsPerTransaction ?? 5_000;
  const say = opts.say ?? (() => undefined);
  const kafka = createKafka(config.kafka, "cdc-bench");
  const log = createLogger("cdc-bench", "warn");
  const schema = uniqueName("cdcbench");
  const table = { schema, table: "tesouro_prices" };
  const qualified = `${schema}.tesouro_prices`;
  const trib = { prefix: uniqueName("tb"), slot: uniqueName("tslot") };
  const dbz = { prefix: uniqueName("db"), slot: uniqueName("dslot"), connector: uniqueName("conn") };
  const snapNames = { prefix: uniqueName("sb"), slot: uniqueName("sslot") };
  const stateDir = mkdtempSync(join(tmpdir(), "tributary-cdc-bench-"));
  const sql = await openSqlClient(config.postgres.url, "tributary-cdc-bench");
  const worker = await startConnectWorker({
    dir: join(stateDir, "connect"),
    stateDir: config.stateDir,
    brokers: config.kafka.brokers,
    port: freePort(),
    kafkaVersion: config.stack.kafkaVersion,
  });
  const aborts: AbortController[] = [];
  const running: Promise<void>[] = [];
  const startSource = async (
    names: { prefix: string; slot: string },
    tables: string[],
  ): Promise<CdcSource> => {
    const abort = new AbortController();
    aborts.push(abort);
    const source = new CdcSource({
      ...names,
      publication: names.slot,
      pgUrl: config.postgres.url,
      kafka,
      kafkaConfig: config.kafka,
      tables,
      stateDir: join(stateDir, names.slot),
      log,
      envelope: config.cdc.envelope,
    });
    running.push(source.run(abort.signal));
    for (let i = 0; source.metrics.state !== "streaming"; i++) {
      if (source.metrics.state === "failed" || i > 36_000)
        throw new Error(`CDC source failed: ${source.metrics.lastError}`);
      await Bun.sleep(50);
    }
    return source;
  };
  try {
    await createTesouroTable(sql, table);
    const warm = Math.max(1_000, Math.round(burst / 10));
    let next = 0;
    // 1. Tributary alone: warm-up burst, then the measured one.
    await startSource(trib, [qualified]);
    const tribTopic = cdcTopic(trib.prefix, schema, "tesouro_prices");
    await timedBurst(kafka, sql, qualified, tribTopic, next, warm, perTx);
    next += warm;
    const tributaryRate = await timedBurst(kafka, sql, qualified, tribTopic, next, burst, perTx);
    say(`cdc: Tributary ${tributaryRate} rows/s`);
    next += burst;
    aborts[0]?.abort();
    await running[0]?.catch(() => undefined);
    await dropSlot(sql, trib.slot).catch(() => undefined);
    // Debezium alone, streaming only (no snapshot of the rows already there), warmed up the same way.
    await putConnector(worker.url, dbz.connector, {
      ...debeziumConnectorConfig({
        pgUrl: config.postgres.url,
        tables: [qualified],
        topicPrefix: dbz.prefix,
        slot: dbz.slot,
        envelope: config.cdc.envelope,
        topicPartitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
      }),
      "snapshot.mode": "no_data",
    });
    await waitConnectorRunning(worker.url, dbz.connector, 120_000);
    for (let i = 0; i < 600; i++) {
      const res = await sql.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [dbz.slot]);
      if (res.rows[0]?.active) break;
      await Bun.sleep(100);
    }
    const dbzTopic = cdcTopic(dbz.prefix, schema, "tesouro_prices");
    await timedBurst(kafka, sql, qualified, dbzTopic, next, warm, perTx);
    next += warm;
    const debeziumRate = await timedBurst(kafka, sql, qualified, dbzTopic, next, burst, perTx);
    say(`cdc: Debezium ${debeziumRate} rows/s`);
    await worker.stop();

    // 2. The snapshot of a large table, read while the source's RSS is sampled.
    const big = { schema, table: "big_prices" };
    await createTesouroTable(sql, big);
    await insertBurst(sql, `${schema}.big_prices`, 0, snapshotRows, 100_000);
    await sql.query(`ANALYZE ${schema}.big_prices`);
    say(`cdc: ${snapshotRows} rows loaded; snapshotting`);
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    const snapStarted = performance.now();
    await startSource(snapNames, [`${schema}.big_prices`]);
    const snapshotRate = Math.round((snapshotRows * 1000) / (performance.now() - snapStarted));
    say(`cdc: snapshot ${snapshotRate} rows/s; silver`);
    clearInterval(sampler);
    aborts[1]?.abort();
    await running[1]?.catch(() => undefined);
    await dropSlot(sql, snapNames.slot).catch(() => undefined);

    // 3. Silver of that table from bronze, then after 1,000 changes; 4. the same, keyless.
    const silver = await silverTimes(sql, big);
    const clustered = silver.clustered;
    if (!clustered) throw new Error("cdc bench: the keyed table's clustered round was not measured");
    const keylessRows = Math.min(snapshotRows, KEYLESS_ROWS);
    say(`cdc: keyless silver over ${keylessRows} rows`);
    const keyless = await silverTimes(sql, big, keylessRows);
    return {
      tributary_rows_per_s: tributaryRate,
      debezium_rows_per_s: debeziumRate,
      ratio_to_debezium: Math.round((tributaryRate / debeziumRate) * 100) / 100,
      snapshot_rows_per_s: snapshotRate,
      snapshot_peak_rss_mb: Math.round(peak / 2 ** 20),
      silver_full_s: silver.full.s,
      silver_full_cpu_s: silver.full.cpu,
      silver_1000_changes_s: clustered.s,
      silver_1000_changes_cpu_s: clustered.cpu,
      silver_1000_random_changes_s: silver.random.s,
      silver_1000_random_changes_cpu_s: silver.random.cpu,
      snapshot_rows: snapshotRows,
      keyless_rows: keylessRows,
      keyless_silver_full_s: keyless.full.s,
      keyless_silver_full_cpu_s: keyless.full.cpu,
      keyless_silver_1000_changes_s: keyless.random.s,
      keyless_silver_1000_changes_cpu_s: keyless.random.cpu,
    };
  } finally {
    for (const a of aborts) a.abort();
    await Promise.all(running.map((r) => r.catch(() => undefined)));
    await worker.stop().catch(() => undefined);
    for (const slot of [trib.slot, dbz.slot, snapNames.slot]) {
      await dropSlot(sql, slot, 10_000).catch(() => undefined);
      await sql.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
    }
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await sql.end();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

interface Timed {
  readonly s: number;
  /** CPU seconds of the bench process (DuckDB's threads included). */
  readonly cpu: number;
}

async function timed(run: () => Promise<unknown>): Promise<Timed> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { s: round((performance.now() - started) / 1000), cpu: round((used.user + used.system) / 1e6) };
}

/** Rows of the keyless copy (its rebuild parses every envelope, as a first run does). */
const KEYLESS_ROWS = 1_000_000;

/**
 * Silver's run time on the table's rows as snapshot reads in bronze, then after 1,000 updates of
 * neighbouring rows (the first 1,000 in table order) and after 1,000 updates of random rows.
 * Bronze is written from the table's rows encoded as the source encodes them (no Kafka in between:
 * this measures silver, not delivery). With `keylessRows`: the first that many rows (in primary-key
 * order) as a table without a primary key under REPLICA IDENTITY FULL (null keys, updates carrying
 * the whole old row), folded as a multiset; `clustered` is then not measured.
 */
async function silverTimes(
  sql: SqlClient,
  ref: { schema: string; table: string },
  keylessRows?: number,
): Promise<{ full: Timed; clustered?: Timed; random: Timed }> {
  const info = await tableInfo(sql, ref);
  if (!info) throw new Error("no bench table");
  const shape = tableShape(info.schema, info.table, info.columns, keylessRows ? null : info.primaryKey);
  const table = `${ref.schema}.${ref.table}`;
  const rows = keylessRows
    ? `(SELECT * FROM ${table} ORDER BY ${info.primaryKey?.join(", ") ?? "1"} LIMIT ${keylessRows}) r`
    : table;
  const ctx = { prefix: "bench", db: "tributary" };
  const lake = createTempLake();
  const topic = `bench.${ref.schema}.${ref.table}`;
  const dataset = cdcDatasetName(ref);
  const T0 = 1_800_000_000_000_000n;
  let offset = 0;
  // One symbol partition for the whole table (the fixture would otherwise make one per key).
  const bronzeRecord = (r: { key: string | null; value: string | null }) => ({
    topic,
    partition: 0,
    offset: offset++,
    key: r.key,
    value: r.value as string,
    ingestedAt: T0,
    eventTs: T0,
    symbol: "ALL",
  });
  try {
    await sql.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const cursor = "bench_silver";
    await sql.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT * FROM ${rows}`);
    for (;;) {
      const res = await sql.query({
        text: `FETCH FORWARD 200000 FROM ${cursor}`,
        rowMode: "array",
        types: RAW_TEXT,
      });
      if (res.rows.length === 0) break;
      const records = res.rows.map((tuple: string[]) => {
        const r = encodeSnapshotRead(
          ctx,
          shape,
          tuple,
          { consistentPoint: 100n, startedMicros: T0, marker: "true" },
          T0,
        );
        return bronzeRecord(r);
      });
      await commitBronze(lake.commitLog, records, { dataset });
    }
    await sql.query("COMMIT");
    const full = await timed(() => runCdcSilver(lake.env, ref));
    let lsn = 1000n;
    const updateRound = async (select: string): Promise<Timed> => {
      const sample = await sql.query({ text: select, rowMode: "array", types: RAW_TEXT });
      const changes = sample.rows.flatMap((tuple: string[]) => {
        const updated = [...tuple];
        updated[3] = "9.99";
        lsn += 1n;
        const pos = {
          xid: Number(lsn),
          commitLsn: lsn,
          lsn,
          commitTimeMicros: T0 + lsn,
          totalOrder: 1,
          dataCollectionOrder: 1,
        };
        const change = keylessRows
          ? { op: "u" as const, oldTuple: tuple, oldKind: "full" as const, newTuple: updated }
          : { op: "u" as const, oldTuple: null, oldKind: null, newTuple: updated };
        return encodeChange(ctx, shape, change, pos, T0).records.map(bronzeRecord);
      });
      // Committed as one more bronze file, as the writer would.
      await commitBronze(lake.commitLog, changes, { dataset });
      return await timed(async () => {
        const run = await runCdcSilver(lake.env, ref);
        // The figure is the incremental fold's: a rebuild here would measure something else.
        if (run.rebuilt) throw new Error(`cdc bench: silver rebuilt after 1,000 changes (${ref.table})`);
      });
    };
    if (keylessRows)
      return { full, random: await updateRound(`SELECT * FROM ${rows} ORDER BY random() LIMIT 1000`) };
    const clustered = await updateRound(`SELECT * FROM ${table} LIMIT 1000`);
    const random = await updateRound(`SELECT * FROM ${table} ORDER BY random() LIMIT 1000`);
    return { full, clustered, random };
  } finally {
    lake.cleanup();
  }
}
