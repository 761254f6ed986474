/**
 * `bun run cdc`                 stream the configured tables (CDC_TABLES) into Kafka until SIGINT/SIGTERM
 * `bun run cdc --load-sample`   create the Tesouro table and load ../shared/fixtures/tesouro (or --file)
 * `bun run cdc --workload`      replay the sample as a live feed (--dates N, --delay-ms N, --seed N)
 * `bun run cdc --resnapshot`    drop the slot and snapshot state, then stream (fresh initial snapshot)
 * `bun run cdc --drop`          drop the slot, the publication and the snapshot state, then exit
 * `bun run cdc --snapshot-table schema.table`  signal the running source to re-snapshot that table
 * `--table schema.table` picks the Tesouro table (default: the first of CDC_TABLES).
 */
import { join } from "node:path";
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { type Config, loadConfigOrExit } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger, type Logger } from "@tributary/shared/log";
import { DEFAULT_SAMPLE_FILE, loadTesouroSample, readTesouroFile } from "../tesouro/loader.ts";
import { replayTesouroFeed } from "../tesouro/workload.ts";
import { dropSlot, openSqlClient, parseTableRef } from "./catalog.ts";
import { cdcHealthApp, serveCdcHealth } from "./health.ts";
import { IncrementalStateStore } from "./incremental-state.ts";
import { CdcMetrics } from "./metrics.ts";
import { quoteIdent } from "./replication-connection.ts";
import { ensureSignalTable, requestIncrementalSnapshot } from "./signal.ts";
import { SnapshotStateStore } from "./snapshot-state.ts";
import { CdcSource } from "./source.ts";

const USAGE = `usage: bun run cdc [--load-sample [--file F] | --workload [--dates N] [--delay-ms N] [--seed N] | --resnapshot | --drop | --snapshot-table schema.table[,…]] [--table schema.table]
  (no flag)        stream the configured tables (CDC_TABLES) into Kafka until SIGINT/SIGTERM
  --load-sample    create the Tesouro table and load the sample (or --file)
  --workload       replay the sample as a live feed
  --resnapshot     drop the slot and snapshot state, then stream (fresh initial snapshot)
  --drop           drop the slot, the publication and the snapshot state, then exit
  --snapshot-table insert an execute-snapshot signal into CDC_SIGNAL_TABLE and exit: the running
                   source re-reads those tables (comma-separated) while it streams (incremental snapshot)
  --table          the Tesouro table (default: the first of CDC_TABLES); see docs/cdc.md`;

const { values: args } = commandLineOrExit("cdc", USAGE, process.argv.slice(2), (argv) =>
  parseCommandLine(argv, {
    "load-sample": { type: "boolean", default: false },
    workload: { type: "boolean", default: false },
    resnapshot: { type: "boolean", default: false },
    drop: { type: "boolean", default: false },
    "snapshot-table": { type: "string" },
    file: { type: "string" },
    table: { type: "string" },
    dates: { type: "string" },
    "delay-ms": { type: "string" },
    seed: { type: "string" },
  }),
);

function intArg(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return Number(text);
}

async function loadSample(config: Config, log: Logger): Promise<number> {
  const table = parseTableRef(args.table ?? (config.cdc.tables[0] as string));
  const client = await openSqlClient(config.postgres.url, "tributary-tesouro-loader");
  try {
    const started = Date.now();
    const result = await loadTesouroSample({
      client,
      table,
      file: args.file ?? DEFAULT_SAMPLE_FILE,
      quarantineFile: join(config.stateDir, "tesouro", `quarantine-${table.schema}.${table.table}.jsonl`),
      onProgress: (p) => log.info("loading Tesouro sample", { ...p }),
    });
    for (const p of result.problems.slice(0, 20)) {
      log.warn(`line ${p.line}, column "${p.column}": ${p.reason}`, { value: p.value });
    }
    const { problems: _problems, ...summary } = result;
    console.log(JSON.stringify({ ...summary, seconds: (Date.now() - started) / 1000 }));
    return 0;
  } finally {
    await client.end();
  }
}

async function workload(config: Config, log: Logger): Promise<number> {
  const table = parseTableRef(args.table ?? (config.cdc.tables[0] as string));
  const { rows, problems } = readTesouroFile(args.file ?? DEFAULT_SAMPLE_FILE);
  if (problems.length > 0) log.warn("rows skipped by the workload (malformed)", { count: problems.length });
  const client = await openSqlClient(config.postgres.url, "tributary-tesouro-feed");
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  process.once("SIGTERM", () => abort.abort());
  try {
    const summary = await replayTesouroFeed({
      client,
      table,
      rows,
      seed: intArg("seed", args.seed, 42),
      delayMs: intArg("delay-ms", args["delay-ms"], 1000),
      maxDates: intArg("dates", args.dates, Number.MAX_SAFE_INTEGER),
      signal: abort.signal,
      onDay: (d) => log.info("base date replayed", { ...d }),
    });
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    await client.end();
  }
}

async function drop(config: Config, log: Logger, publicationToo: boolean): Promise<void> {
  const client = await openSqlClient(config.postgres.url, "tributary-cdc-admin");
  try {
    const dropped = await dropSlot(client, config.cdc.slot);
    if (publicationToo)
      await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(config.cdc.publication)}`);
    new SnapshotStateStore(config.stateDir, config.cdc.slot).clear();
    new IncrementalStateStore(config.stateDir, config.cdc.slot).clear();
    log.info("dropped CDC state", {
      slot: config.cdc.slot,
      slot_existed: dropped,
      publication: publicationToo ? config.cdc.publication : null,
    });
  } finally {
    await client.end();
  }
}

/** Inserts the signal row the running source turns into an incremental snapshot of `tables`. */
async function signalSnapshot(config: Config, log: Logger, list: string): Promise<number> {
  const signalTable = config.cdc.signalTable;
  if (!signalTable) {
    console.error(
      "cdc: --snapshot-table needs CDC_SIGNAL_TABLE (a schema.table the source watches); it is off",
    );
    return 2;
  }
  const names = list.split(",").map((t) => t.trim());
  const unknown = names.filter((t) => !config.cdc.tables.includes(t));
  if (unknown.length > 0) {
    console.error(`cdc: not in CDC_TABLES, so not captured: ${unknown.join(", ")}`);
    return 2;
  }
  const client = await openSqlClient(config.postgres.url, "tributary-cdc-admin");
  try {
    const ref = parseTableRef(signalTable);
    if (await ensureSignalTable(client, ref)) log.info("created the signal table", { table: signalTable });
    const id = await requestIncrementalSnapshot(client, ref, names.map(parseTableRef));
    console.log(JSON.stringify({ signal: id, signal_table: signalTable, tables: names }));
    return 0;
  } finally {
    await client.end();
  }
}

async function stream(config: Config, log: Logger): Promise<number> {
  const metrics = new CdcMetrics(config.health.stallAfterMs);
  const health = serveCdcHealth(cdcHealthApp(metrics), config.ports.cdcMetrics);
  log.info(`CDC health on http://127.0.0.1:${health.port}/health and /metrics`);
  const abort = new AbortController();
  const stop = (): void => {
    log.info("stopping: flushing to Kafka and confirming the last LSN");
    abort.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const source = new CdcSource({
    pgUrl: config.postgres.url,
    kafka: createKafka(config.kafka, "cdc"),
    kafkaConfig: config.kafka,
    prefix: config.cdc.topicPrefix,
    slot: config.cdc.slot,
    publication: config.cdc.publication,
    tables: config.cdc.tables,
    stateDir: config.stateDir,
    log,
    metrics,
    envelope: config.cdc.envelope,
    ...(config.cdc.signalTable ? { signalTable: config.cdc.signalTable } : {}),
    incrementalChunkSize: config.cdc.incrementalChunkSize,
  });
  try {
    await source.run(abort.signal);
    return 0;
  } catch (err) {
    log.error("CDC source stopped", { error: err instanceof Error ? err.message : String(err) });
    return 1;
  } finally {
    health.stop();
  }
}

async function main(): Promise<number> {
  const config = loadConfigOrExit();
  const log = createLogger("cdc", config.logLevel);
  if (args["load-sample"]) return loadSample(config, log);
  if (args.workload) return workload(config, log);
  if (args["snapshot-table"] !== undefined) return signalSnapshot(config, log, args["snapshot-table"]);
  if (args.drop) {
    await drop(config, log, true);
    return 0;
  }
  if (args.resnapshot) await drop(config, log, false);
  return stream(config, log);
}

process.exit(await main());
