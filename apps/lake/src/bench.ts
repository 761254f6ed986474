/**
 * Lake benchmark: sustained records/s from Kafka to committed bronze for 200-byte trade messages,
 * against the limit measured in the same run (DuckDB alone appending and copying the same
 * payloads through the writer's own staging table and COPY), the writer process's peak RSS, and
 * freshness (produce → committed) p99 at 5,000 records/s.
 *
 *   const r = await runLakeBench({ records: 1_000_000 });
 *   // { records_per_s, limit_records_per_s, ratio_to_limit, peak_rss_mb, cpu_us_per_record, freshness_p99_ms, … }
 *
 * Run directly: `bun apps/lake/src/bench.ts [--records N] [--json]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import type { BenchWriterReport } from "./bench-writer.ts";
import { routedDataset } from "./bronze/datasets.ts";
import { type EventFields, krakenEventFields } from "./bronze/event-time.ts";
import { BronzeStage } from "./bronze/stage-table.ts";
import { createTestTopic, produceTrades, testProducer, tradeMessage } from "./bronze/testing.ts";
import { startBronzeWriter } from "./bronze/writer.ts";

export interface LakeBenchOptions {
  /** Records for the throughput run (pre-produced, then consumed as fast as possible). */
  readonly records?: number;
  readonly partitions?: number;
  /** Freshness run: rate and duration. */
  readonly freshnessRate?: number;
  readonly freshnessSeconds?: number;
  readonly config?: Config;
}

export interface LakeBenchResult {
  readonly records_per_s: number;
  readonly limit_records_per_s: number;
  readonly ratio_to_limit: number;
  readonly peak_rss_mb: number;
  /** Writer-process CPU (all threads) per record: steadier than records/s on a shared machine. */
  readonly cpu_us_per_record: number;
  readonly freshness_p99_ms: number;
  readonly records: number;
  readonly message_bytes: number;
}

const FLUSH_ROWS = 100_000;
/** Event times 100 µs apart: a realistic busy market, where a flush spans one or two hours. */
const STEP_US = 100;

export async function runLakeBench(opts: LakeBenchOptions = {}): Promise<LakeBenchResult> {
  const base = opts.config ?? loadConfig();
  const records = opts.records ?? 1_000_000;
  const partitions = opts.partitions ?? 6;
  const scratch = mkdtempSync(join(tmpdir(), "lake-bench-"));
  const quiet = createLogger("lake.bench", "warn");
  try {
    const limit = await measureLimit(Math.min(records, 500_000), join(scratch, "limit"));
    const throughput = await measureThroughput(base, records, partitions, join(scratch, "lake-t"));
    const freshness = await measureFreshness(
      base,
      opts.freshnessRate ?? 5_000,
      opts.freshnessSeconds ?? 20,
      partitions,
      join(scratch, "lake-f"),
      quiet,
    );
    return {
      records_per_s: Math.round(throughput.recordsPerSecond),
      limit_records_per_s: Math.round(limit),
      ratio_to_limit: Math.round((throughput.recordsPerSecond / limit) * 100) / 100,
      peak_rss_mb: Math.round(throughput.peakRssMb),
      cpu_us_per_record: Math.round(throughput.cpuUsPerRecord * 100) / 100,
      freshness_p99_ms: Math.round(freshness),
      records,
      message_bytes: Buffer.byteLength(tradeMessage(0).value),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** DuckDB alone: the same payloads through the same Appender path, staging table and COPY. */
async function measureLimit(records: number, dir: string): Promise<number> {
  const ds = routedDataset("bench.trades", "kraken_trades", "kraken");
  const stage = await BronzeStage.open({ memoryLimitMb: 512, threads: 2, tempDir: join(dir, "duckdb") });
  try {
    const payloads = Array.from({ length: 10_000 }, (_, i) => {
      const m = tradeMessage(i, STEP_US);
      return { key: Buffer.from(m.key), value: Buffer.from(m.value) };
    });
    const fields: EventFields = { eventUs: Number.NaN, symbol: "" };
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
    return records / ((performance.now() - started) / 1000);
  } finally {
    stage.close();
  }
}

async function measureThroughput(
  base: Config,
  records: number,
  partitions: number,
  lake: string,
): Promise<{ recordsPerSecond: number; peakRssMb: number; cpuUsPerRecord: number }> {
  const topic = uniqueName("bench_trades");
  const group = uniqueName("bench");
  await createTestTopic(base, topic, partitions);
  const producer = await testProducer(base);
  await produceTrades(producer, topic, records, partitions, { batch: 10_000, stepUs: STEP_US });
  await producer.disconnect();
  // The writer runs alone in its own process, so its peak RSS is its own.
  const child = Bun.spawn(
    ["bun", join(import.meta.dir, "bench-writer.ts"), "--topic", topic, "--records", String(records)],
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
  // Sustained rate: from the first commit to the last, so group join and start-up are not counted.
  const seconds = (report.lastAt - report.firstAt) / 1000;
  return {
    recordsPerSecond: (report.committed - report.firstRows) / Math.max(seconds, 0.001),
    peakRssMb: report.peakRssMb,
    cpuUsPerRecord: report.cpuUs / report.committed,
  };
}

/** p99 of produce → committed at a steady rate, with the default flush interval. */
async function measureFreshness(
  base: Config,
  rate: number,
  seconds: number,
  partitions: number,
  lake: string,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const topic = uniqueName("bench_fresh");
  const config: Config = {
    ...base,
    lake: { ...base.lake, uri: lake, consumerGroup: uniqueName("bench_fresh") },
  };
  await createTestTopic(config, topic, partitions);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const writer = await startBronzeWriter(config, {
    topics: [topic],
    routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
    metricsPort: null,
    logger,
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
        for (let k = 0; k < n; k++) sentAt.set(`${meta.partition}/${baseOffset + BigInt(k)}`, at);
      }
    }
    const drainStart = Date.now();
    while (sentAt.size > 0 && Date.now() - drainStart < 30_000) await Bun.sleep(100);
  } finally {
    await producer.disconnect();
    await writer.stop();
  }
  latencies.sort((a, b) => a - b);
  if (latencies.length === 0) throw new Error("bench: no freshness samples");
  return latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] as number;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { records: { type: "string" }, json: { type: "boolean" } } });
  const result = await runLakeBench(values.records === undefined ? {} : { records: Number(values.records) });
  if (values.json) {
    const units: Record<string, string> = {
      records_per_s: "records/s",
      limit_records_per_s: "records/s",
      ratio_to_limit: "ratio",
      peak_rss_mb: "MB",
      cpu_us_per_record: "µs",
      freshness_p99_ms: "ms",
    };
    for (const [metric, unit] of Object.entries(units)) {
      console.log(
        JSON.stringify({ bench: "lake", metric, value: result[metric as keyof LakeBenchResult], unit }),
      );
    }
  } else {
    console.log(result);
  }
  process.exit(0);
}
