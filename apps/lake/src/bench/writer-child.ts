/**
 * Child process of the lake benchmark: runs one bronze writer until `--records` rows are
 * committed, then prints one JSON line with its commit timings and its own peak RSS (VmHWM), so
 * the benchmark measures the writer's memory and nothing else.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { peakRssMb } from "@tributary/shared/peak-rss";
import { routedDataset } from "../bronze/datasets.ts";
import { startBronzeWriter } from "../bronze/writer.ts";

export interface BenchWriterReport {
  readonly committed: number;
  /** ms (performance.now of this process) of the first and the last commit, and rows in the first. */
  readonly firstAt: number;
  readonly firstRows: number;
  readonly lastAt: number;
  readonly peakRssMb: number;
  /** CPU time of the whole writer process (all threads), in µs, at the first and at the last commit. */
  readonly firstCpuUs: number;
  readonly lastCpuUs: number;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { topic: { type: "string" }, records: { type: "string" } } });
  const topic = values.topic ?? "";
  const records = Number(values.records);
  const config = loadConfig();
  let committed = 0;
  let firstAt = 0;
  let firstRows = 0;
  let lastAt = 0;
  let firstCpuUs = 0;
  let lastCpuUs = 0;
  const cpuUs = (): number => {
    const cpu = process.cpuUsage();
    return cpu.user + cpu.system;
  };
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const writer = await startBronzeWriter(config, {
    topics: [topic],
    routes: new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]),
    metricsPort: null,
    logger: createLogger("lake.bench", "warn"),
    onCommit: (r) => {
      const now = performance.now();
      committed += r.rows;
      if (firstAt === 0) {
        firstAt = now;
        firstRows = committed;
        firstCpuUs = cpuUs();
      }
      lastAt = now;
      lastCpuUs = cpuUs();
      if (committed >= records) finish();
    },
  });
  await Promise.race([done, Bun.sleep(600_000)]);
  const report: BenchWriterReport = {
    committed,
    firstAt,
    firstRows,
    lastAt,
    peakRssMb: peakRssMb() ?? 0,
    firstCpuUs,
    lastCpuUs,
  };
  await writer.stop();
  console.log(JSON.stringify(report));
  process.exit(0);
}
