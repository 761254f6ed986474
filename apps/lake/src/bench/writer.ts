/**
 * Lake benchmark: Kafka → committed bronze for 200-byte trade messages, in alternating rounds of
 * the limit (DuckDB alone appending and COPYing the same payloads through the writer's own staging
 * table) and the writer, so each writer round is compared with a limit measured next to it under the
 * same machine load. The primary figure is CPU per record (the writer process, all threads): on a
 * shared machine records/s moves with the neighbours, CPU per record much less. Every figure comes
 * per round; the harness reports the median and the range. Freshness (produce → committed) p99 at
 * 5,000 records/s and the writer's peak RSS are measured per round too.
 *
 *   const r = await runLakeBench({ records: 1_000_000, rounds: 5 });
 *   // r.rounds: [{ cpu_us_per_record, limit_cpu_us_per_record, records_per_s, limit_records_per_s, … }]
 *
 * Run directly: `bun apps/lake/src/bench/writer.ts [--records N] [--rounds N] [--json]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { routedDataset } from "../bronze/datasets.ts";
import { type EventFields, krakenEventFields } from "../bronze/event-time.ts";
import { BronzeStage } from "../bronze/stage-table.ts";
import { createTestTopic, produceTrades, testProducer, tradeMessage } from "../bronze/testing.ts";
import { startBronzeWriter } from "../bronze/writer.ts";
import type { BenchWriterReport } from "./writer-child.ts";

export interface LakeBenchOptions {
  /** Records each writer round consumes (produced once, read by a new consumer group per round). */
  readonly records?: number;
  /** Limit/writer round pairs. */
  readonly rounds?: number;
  readonly partitions?: number;
  /** Freshness, per round: rate and duration. */
  readonly freshnessRate?: number;
  readonly freshnessSeconds?: number;
  readonly config?: Config;
}

/** One limit round followed by one writer round and one freshness run. */
export interface LakeBenchRound {
  /** Writer-process CPU (all threads) per committed record: the primary figure. */
  readonly cpu_us_per_record: number;
  /** The limit's CPU (this process, DuckDB's threads included) per record. */
  readonly limit_cpu_us_per_record: number;
  /** Writer CPU per record over the limit's: how much the Kafka side and the protocol add. */
  readonly cpu_ratio_to_limit: number;
  readonly records_per_s: number;
  readonly limit_records_per_s: number;
  /** Writer records/s over the limit of the same round. */
  readonly ratio_to_limit: number;
  readonly peak_rss_mb: number;
  readonly freshness_p99_ms: number;
  /** Produce → in a committed Iceberg snapshot, at the default commit interval. */
  readonly table_freshness_p99_ms: number;
}

export interface LakeBenchResult {
  readonly rounds: readonly LakeBenchRound[];
  readonly records: number;
  readonly message_bytes: number;
}

/** Each figure of a round with its unit, in the order reported (the primary figure first). */
export const LAKE_BENCH_UNITS: Readonly<Record<keyof LakeBenchRound, string>> = {
  cpu_us_per_record: "µs",
  limit_cpu_us_per_record: "µs",
  cpu_ratio_to_limit: "×",
  records_per_s: "records/s",
  limit_records_per_s: "records/s",
  ratio_to_limit: "×",
  peak_rss_mb: "MB",
  freshness_p99_ms: "ms",
  table_freshness_p99_ms: "ms",
};

const FLUSH_ROWS = 100_000;
/** Event times 100 µs apart: a realistic busy market, where a flush spans one or two hours. */
const STEP_US = 100;

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function runLakeBench(opts: LakeBenchOptions = {}): Promise<LakeBenchResult> {
  const base = opts.config ?? loadConfig();
  const records = opts.records ?? 1_000_000;
  const rounds = opts.rounds ?? 5;
  const partitions = opts.partitions ?? 6;
  const scratch = mkdtempSync(join(tmpdir(), "lake-bench-"));
  const quiet = createLogger("lake.bench", "warn");
  try {
    const topic = uniqueName("bench_trades");
    await createTestTopic(base, topic, partitions);
    const producer = await testProducer(base);
    await produceTrades(producer, topic, records, partitions, { batch: 10_000, stepUs: STEP_US });
    await producer.disconnect();
    const results: LakeBenchRound[] = [];
    for (let r = 0; r < rounds; r++) {
      const limit = await measureLimit(Math.min(records, 500_000), join(scratch, `limit-${r}`));
      const writer = await measureThroughput(topic, records, join(scratch, `lake-${r}`));
      const freshness = await measureFreshness(
        base,
        opts.freshnessRate ?? 5_000,
        opts.freshnessSeconds ?? 10,
        partitions,
        join(scratch, `fresh-${r}`),
        quiet,
      );
      results.push({
        cpu_us_per_record: round2(writer.cpuUsPerRecord),
        limit_cpu_us_per_record: round2(limit.cpuUsPerRecord),
        cpu_ratio_to_limit: round2(writer.cpuUsPerRecord / limit.cpuUsPerRecord),
        records_per_s: Math.round(writer.recordsPerSecond),
        limit_records_per_s: Math.round(limit.recordsPerSecond),
        ratio_to_limit: round2(writer.recordsPerSecond / limit.recordsPerSecond),
        peak_rss_mb: Math.round(writer.peakRssMb),
        freshness_p99_ms: Math.round(freshness.log),
        table_freshness_p99_ms: Math.round(freshness.table),
      });
      rmSync(join(scratch, `lake-${r}`), { recursive: true, force: true });
    }
    return { rounds: results, records, message_bytes: Buffer.byteLength(tradeMessage(0).value) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** DuckDB alone: the same payloads through the same Appender path, staging table and COPY. */
async function measureLimit(
  records: number,
  dir: string,
): Promise<{ recordsPerSecond: number; cpuUsPerRecord: number }> {
  const ds = routedDataset("bench.trades", "kraken_trades", "kraken");
  const stage = await BronzeStage.open({ memoryLimitMb: 512, threads: 2, tempDir: join(dir, "duckdb") });
  try {
    const payloads = Array.from({ length: 10_000 }, (_, i) => {
      const m = tradeMessage(i, STEP_US);
      return { key: Buffer.from(m.key), value: Buffer.from(m.value) };
    });
    const fields: EventFields = { eventUs: Number.NaN, symbol: "" };
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let from = 0; from < records; from += FLUSH_ROWS) {
      const table = await stage.newTable(ds);
      const n = Math.min(FLUSH_ROWS, records - from);
      const now = Date.now();
      for (let i = 0; i < n; i++) {
        const p = payloads[(from + i) % payloads.length] as { key: Buffer; value: Buffer };
        krakenEventFields(p.value, p.key, fields);
        table.append(i % 6, i % 6, from + i, p.key, p.value, now, now * 1000, fields.eventUs, fields.symbol);
      }
      const tps = Array.from({ length: 6 }, (_, id) => ({
        id,
        topic: "bench.trades",
        partition: id,
        dir: `bench.trades-${id}-${from}`,
      }));
      await stage.copyToStaging(table, tps, join(dir, `copy-${from}`));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return { recordsPerSecond: records / seconds, cpuUsPerRecord: (cpu.user + cpu.system) / records };
  } finally {
    stage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One writer in its own process (so its peak RSS is its own) reading the whole topic as a new group. */
async function measureThroughput(
  topic: string,
  records: number,
  lake: string,
): Promise<{ recordsPerSecond: number; peakRssMb: number; cpuUsPerRecord: number }> {
  const group = uniqueName("bench");
  const child = Bun.spawn(
    ["bun", join(import.meta.dir, "writer-child.ts"), "--topic", topic, "--records", String(records)],
    {
      env: {
        ...process.env,
        LAKE_URI: lake,
        LAKE_CONSUMER_GROUP: group,
        LAKE_FLUSH_ROWS: String(FLUSH_ROWS),
        LOG_LEVEL: "warn",
      },
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  const out = await new Response(child.stdout).text();
  await child.exited;
  const line = out.trim().split("\n").at(-1) ?? "";
  const report = JSON.parse(line) as BenchWriterReport;
  if (report.committed < records)
    throw new Error(`bench: only ${report.committed} of ${records} records committed`);
  // Sustained rate and CPU: from the first commit to the last, so start-up and group join are not counted.
  const seconds = (report.lastAt - report.firstAt) / 1000;
  const steadyRecords = Math.max(report.committed - report.firstRows, 1);
  return {
    recordsPerSecond: steadyRecords / Math.max(seconds, 0.001),
    peakRssMb: report.peakRssMb,
    cpuUsPerRecord: (report.lastCpuUs - report.firstCpuUs) / steadyRecords,
  };
}

/**
 * p99 of produce → committed (the commit log) and produce → in an Iceberg snapshot, at a steady
 * rate, with the default flush and table commit intervals.
 */
async function measureFreshness(
  base: Config,
  rate: number,
  seconds: number,
  partitions: number,
  lake: string,
  logger: ReturnType<typeof createLogger>,
): Promise<{ log: number; table: number }> {
  const topic = uniqueName("bench_fresh");
  const config: Config = {
    ...base,
    lake: { ...base.lake, uri: lake, consumerGroup: uniqueName("bench_fresh") },
  };
  await createTestTopic(config, topic, partitions);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const inTable = new Map<string, number>();
  const tableLatencies: number[] = [];
  const writer = await startBronzeWriter(config, {
    topics: [topic],
    routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
    metricsPort: null,
    logger,
    onTableCommit: (offsets) => {
      const now = performance.now();
      for (const [key, t] of inTable) {
        const [p, o] = key.split("/");
        if (BigInt(o as string) < BigInt(offsets[`${topic}/${p}`] ?? "0")) {
          tableLatencies.push(now - t);
          inTable.delete(key);
        }
      }
    },
    onCommit: (r) => {
      const now = performance.now();
      for (let o = BigInt(r.first_offset); o <= BigInt(r.last_offset); o++) {
        const key = `${r.partition}/${o}`;
        const t = sentAt.get(key);
        if (t !== undefined) {
          latencies.push(now - t);
          sentAt.delete(key);
        }
      }
    },
  });
  const producer = await testProducer(config);
  try {
    // Warm-up message so the group has joined before the clock starts.
    await producer.send({ topic, messages: [{ ...tradeMessage(0), partition: 0 }] });
    const warm = Date.now();
    while (writer.snapshot().partitions.every((p) => p.committedNext <= 0) && Date.now() - warm < 60_000)
      await Bun.sleep(100);
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const start = performance.now();
    let i = 1;
    for (let tick = 0; performance.now() - start < seconds * 1000; tick++) {
      const due = start + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const messages = Array.from({ length: perTick }, () => tradeMessage(i++, STEP_US));
      const at = performance.now();
      const byPartition = new Map<number, Array<{ key: string; value: string }>>();
      for (const [j, m] of messages.entries()) {
        const p = (i + j) % partitions;
        byPartition.set(p, [...(byPartition.get(p) ?? []), m]);
      }
      const res = await producer.sendBatch({
        acks: -1,
        topicMessages: [...byPartition].map(([partition, ms]) => ({
          topic,
          messages: ms.map((m) => ({ ...m, partition })),
        })),
      });
      for (const meta of res) {
        const n = byPartition.get(meta.partition)?.length ?? 0;
        const baseOffset = BigInt(meta.baseOffset ?? "0");
        for (let k = 0; k < n; k++) {
          sentAt.set(`${meta.partition}/${baseOffset + BigInt(k)}`, at);
          inTable.set(`${meta.partition}/${baseOffset + BigInt(k)}`, at);
        }
      }
    }
    const drainStart = Date.now();
    while ((sentAt.size > 0 || inTable.size > 0) && Date.now() - drainStart < 30_000) await Bun.sleep(100);
  } finally {
    await producer.disconnect();
    await writer.stop();
  }
  const p99 = (xs: number[]): number => {
    if (xs.length === 0) throw new Error("bench: no freshness samples");
    xs.sort((a, b) => a - b);
    return xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] as number;
  };
  return { log: p99(latencies), table: p99(tableLatencies) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { records: { type: "string" }, rounds: { type: "string" }, json: { type: "boolean" } },
  });
  const result = await runLakeBench({
    ...(values.records === undefined ? {} : { records: Number(values.records) }),
    ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
  });
  if (values.json) {
    for (const [i, r] of result.rounds.entries())
      for (const [metric, unit] of Object.entries(LAKE_BENCH_UNITS))
        console.log(
          JSON.stringify({
            bench: "lake",
            round: i + 1,
            metric,
            value: r[metric as keyof LakeBenchRound],
            unit,
          }),
        );
  } else {
    console.table(result.rounds);
  }
  process.exit(0);
}
