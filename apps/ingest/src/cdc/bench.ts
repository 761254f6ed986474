/**
 * CDC benchmark: rows per second from commit in PostgreSQL to acknowledgement by Kafka, through the
 * whole source (pgoutput decoding, Debezium envelopes, idempotent producer with acks=all, LSN
 * confirmation). Rows are Tesouro-shaped (text, two dates, five NUMERICs), committed in
 * multi-row transactions while the source streams. `runCdcBench` is wired into `bun run bench cdc`.
 * `rows_per_cpu_s` divides by the CPU time of this process (source and driver), not wall time.
 * `commit_rows_per_s` is the rate the driver committed at: when it is above `rows_per_s`, the source
 * is saturated and the commit-to-ack latencies measure its backlog, not a per-transaction delay.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { createTesouroTable } from "../tesouro/ddl.ts";
import { dropSlot, openSqlClient, serverWalLsn } from "./catalog.ts";
import type { CdcState } from "./metrics.ts";
import { CdcSource } from "./source.ts";

export interface CdcBenchOptions {
  readonly config?: Config;
  /** Rows to insert (default 200,000). */
  readonly rows?: number;
  /** Rows per transaction (default 5,000). */
  readonly rowsPerTransaction?: number;
  readonly timeoutMs?: number;
}

export interface BenchResult {
  readonly bench: "cdc";
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
}

export async function runCdcBench(opts: CdcBenchOptions = {}): Promise<BenchResult[]> {
  const config = opts.config ?? loadConfig();
  const total = opts.rows ?? 200_000;
  const perTx = opts.rowsPerTransaction ?? 5_000;
  const schema = uniqueName("cdcbench");
  const names = { prefix: uniqueName("cdcbench"), slot: uniqueName("slot"), publication: uniqueName("pub") };
  const stateDir = mkdtempSync(join(tmpdir(), "tributary-cdc-bench-"));
  const sql = await openSqlClient(config.postgres.url, "tributary-cdc-bench");
  const commits: { lsn: bigint; at: number }[] = [];
  const acks: { lsn: bigint; at: number }[] = [];
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  try {
    await createTesouroTable(sql, { schema, table: "tesouro_prices" });
    const source = new CdcSource({
      ...names,
      pgUrl: config.postgres.url,
      kafka: createKafka(config.kafka, "cdc-bench"),
      kafkaConfig: config.kafka,
      tables: [`${schema}.tesouro_prices`],
      stateDir,
      log: createLogger("cdc-bench", "warn"),
      onConfirmed: (lsn) => acks.push({ lsn, at: performance.now() }),
    });
    running = source.run(abort.signal);
    const readyBy = Date.now() + 60_000;
    const state = (): CdcState => source.metrics.state;
    while (state() !== "streaming") {
      if (Date.now() > readyBy || state() === "failed")
        throw new Error(`CDC source did not start: ${source.metrics.lastError}`);
      await Bun.sleep(20);
    }
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    for (let from = 0; from < total; from += perTx) {
      const to = Math.min(total, from + perTx) - 1;
      await sql.query(
        `INSERT INTO ${schema}.tesouro_prices
         SELECT 'Tesouro IPCA+ com Juros Semestrais', DATE '2030-01-01' + (g % 7000), DATE '2000-01-01' + (g / 7000),
                7.64 + (g % 50) / 100.0, 7.76, 4154.13 + (g % 1000) / 100.0, 4125.25, 4125.25
         FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
      commits.push({ lsn: await serverWalLsn(sql), at: performance.now() });
    }
    const committed = performance.now();
    const last = commits[commits.length - 1]?.lsn ?? 0n;
    const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
    while (source.metrics.confirmedLsn < last) {
      if (Date.now() > deadline || source.metrics.state === "failed")
        throw new Error("CDC benchmark timed out waiting for Kafka acknowledgements");
      await Bun.sleep(5);
    }
    const finished = acks.find((a) => a.lsn >= last)?.at ?? performance.now();
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const latencies = commits
      .map((c) => (acks.find((a) => a.lsn >= c.lsn)?.at ?? finished) - c.at)
      .sort((a, b) => a - b);
    const quantile = (q: number): number =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return [
      {
        bench: "cdc",
        metric: "rows_per_s",
        value: Math.round((total * 1000) / (finished - started)),
        unit: "rows/s",
      },
      { bench: "cdc", metric: "commit_to_ack_p50_ms", value: Math.round(quantile(0.5)), unit: "ms" },
      { bench: "cdc", metric: "commit_to_ack_p99_ms", value: Math.round(quantile(0.99)), unit: "ms" },
      { bench: "cdc", metric: "rows", value: total, unit: "rows" },
      {
        bench: "cdc",
        metric: "commit_rows_per_s",
        value: Math.round((total * 1000) / (committed - started)),
        unit: "rows/s",
      },
      // Throughput per CPU-second of the source's process: what the machine's contention cannot hide.
      {
        bench: "cdc",
        metric: "rows_per_cpu_s",
        value: Math.round(total / Math.max(cpuSeconds, 1e-3)),
        unit: "rows/cpu-s",
      },
    ];
  } finally {
    abort.abort();
    await running?.catch(() => undefined);
    await dropSlot(sql, names.slot).catch(() => undefined);
    await sql.query(`DROP PUBLICATION IF EXISTS ${names.publication}`).catch(() => undefined);
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await sql.end();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const rows = Number(process.argv[2] ?? 200_000);
  for (const r of await runCdcBench({ rows })) console.log(JSON.stringify(r));
}
