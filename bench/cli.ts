/**
 * `bun run bench [ingest|lake|gold|cdc|iceberg|notebooks …] [--json] [--runs N] [--quick] [--no-write]`
 *
 * Runs the benchmarks of every app in one harness (warm-up, several runs, median and spread) and
 * regenerates BENCHMARKS.md. `--json` prints one JSON line per result:
 * {"bench":"lake","metric":"records_per_s","value":231000,"unit":"records/s", …}.
 * `--quick` runs each bench at a small size (a smoke test, not for BENCHMARKS.md).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { nowRfc3339 } from "@tributary/shared/time";
import {
  type BenchDefinition,
  type BenchSummary,
  keepNotes,
  type Metric,
  renderMarkdown,
  runBench,
} from "./harness.ts";

const USAGE = `usage: bun run bench [ingest|lake|gold|cdc|iceberg|notebooks …] [--json] [--runs N] [--quick] [--no-write]
  runs the benchmarks (all when none is named) and regenerates BENCHMARKS.md; --json prints one JSON
  line per result ({"bench","metric","value","unit"}).`;
const { values, positionals } = commandLineOrExit("bench", USAGE, process.argv.slice(2), (argv) =>
  parseCommandLine(
    argv,
    {
      json: { type: "boolean", default: false },
      runs: { type: "string" },
      quick: { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
    true,
  ),
);

const config = loadConfigOrExit();
const quick = values.quick === true;
const runsOverride = values.runs === undefined ? undefined : Number(values.runs);
if (
  runsOverride !== undefined &&
  !(Number.isInteger(runsOverride) && runsOverride >= 1 && runsOverride <= 20)
) {
  console.error(`--runs ${JSON.stringify(values.runs)}: expected a whole number from 1 to 20`);
  process.exit(2);
}

const peakRssMb = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);

/** A result's metrics in the order of its units table, each with its target when it has one. */
function metricsOf<R extends object>(
  result: R,
  units: Readonly<Record<string, string>>,
  targets: Partial<Record<string, Metric["target"]>> = {},
): Metric[] {
  return Object.entries(units).map(([metric, unit]) => {
    const target = targets[metric];
    return { metric, value: Number(result[metric as keyof R]), unit, ...(target ? { target } : {}) };
  });
}

const BENCHES: Record<string, () => BenchDefinition> = {
  ingest: () => ({
    name: "ingest",
    description:
      "WebSocket → Kafka: throughput, and p99 latency from simulator send to broker ack at 5,000 trades/s; the same for checksum-verified book updates at 2,000 updates/s",
    runs: 3,
    warmup: true,
    async run(): Promise<Metric[]> {
      const { runIngestBench } = await import("@tributary/ingest/bench");
      const { runBookBench } = await import("@tributary/ingest/kraken/book/bench");
      const r = await runIngestBench({
        kafka: config.kafka,
        ...(quick ? { throughputTrades: 20_000, latencySeconds: 3 } : {}),
      });
      const b = await runBookBench({
        kafka: config.kafka,
        ...(quick ? { burstUpdates: 15_000, latencySeconds: 3 } : {}),
      });
      return [
        {
          metric: "trades_per_s",
          value: r.trades_per_s,
          unit: "trades/s",
          target: { value: 50_000, kind: "min" },
        },
        { metric: "p99_ms", value: r.p99_ms, unit: "ms", target: { value: 20, kind: "max" } },
        { metric: "p50_ms", value: r.p50_ms, unit: "ms" },
        { metric: "ingester_cpu_us_per_trade", value: r.ingester_cpu_us_per_trade, unit: "µs" },
        {
          metric: "book_updates_per_s",
          value: b.book_updates_per_s,
          unit: "updates/s",
          target: { value: 20_000, kind: "min" },
        },
        { metric: "sim_book_updates_per_s", value: b.sim_book_updates_per_s, unit: "updates/s" },
        { metric: "book_p99_ms", value: b.book_p99_ms, unit: "ms", target: { value: 20, kind: "max" } },
        { metric: "book_p50_ms", value: b.book_p50_ms, unit: "ms" },
        { metric: "book_latency_updates_per_s", value: b.latency_updates_per_s, unit: "updates/s" },
        { metric: "ingester_cpu_us_per_book_update", value: b.ingester_cpu_us_per_update, unit: "µs" },
      ];
    },
  }),
  lake: () => ({
    name: "lake",
    description:
      "Kafka → committed bronze for 200-byte trades, against DuckDB alone; peak RSS; freshness p99 at 5,000 records/s to the commit log and to an Iceberg snapshot",
    // One run of alternating limit/writer rounds: each round is one sample, the median and range span them.
    runs: 1,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runLakeBench, LAKE_BENCH_UNITS } = await import("@tributary/lake/bench/writer");
      const r = await runLakeBench(
        quick ? { records: 100_000, rounds: 2, freshnessSeconds: 3, config } : { rounds: 5, config },
      );
      const targets: Partial<Record<string, Metric["target"]>> = {
        records_per_s: { value: 200_000, kind: "min" },
        ratio_to_limit: { value: 0.5, kind: "min" },
        peak_rss_mb: { value: 400, kind: "max" },
        freshness_p99_ms: { value: 2000, kind: "max" },
        // In an Iceberg snapshot: a flush plus up to one LAKE_ICEBERG_COMMIT_MS (5 s) plus the commit.
        table_freshness_p99_ms: { value: 8000, kind: "max" },
      };
      return r.rounds.flatMap((round) => metricsOf(round, LAKE_BENCH_UNITS, targets));
    },
  }),
  gold: () => ({
    name: "gold",
    description:
      "full rebuild of silver and gold for 10,000,000 trades; incremental refresh after one new hour",
    runs: 1,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runGoldBench } = await import("@tributary/lake/bench/gold");
      const r = await runGoldBench(quick ? { trades: 200_000, hours: 24 } : {});
      return [
        { metric: "full_rebuild_s", value: r.full_rebuild_s, unit: "s", target: { value: 60, kind: "max" } },
        { metric: "incremental_s", value: r.incremental_s, unit: "s", target: { value: 2, kind: "max" } },
        { metric: "trades", value: r.trades, unit: "trades" },
      ];
    },
  }),
  cdc: () => ({
    name: "cdc",
    description:
      "PostgreSQL commit → Kafka acknowledgement; the same burst through Debezium (Kafka Connect 4.3.1 + Debezium 3.6.1.Final) in the same run; snapshot and silver of a large table",
    runs: 3,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runCdcBench } = await import("@tributary/ingest/cdc/bench");
      const { runCdcComparison } = await import("./cdc.ts");
      const results = await runCdcBench({ config, ...(quick ? { rows: 20_000 } : {}) });
      const c = await runCdcComparison({
        config,
        say: (line) => console.error(line),
        ...(quick ? { burstRows: 20_000, snapshotRows: 50_000 } : {}),
      });
      const seconds = (keys: readonly (keyof typeof c)[]): Metric[] =>
        keys.map((k) => ({ metric: k, value: c[k], unit: "s" }));
      return [
        ...results.map((r) => ({
          metric: r.metric,
          value: r.value,
          unit: r.unit,
          ...(r.metric === "rows_per_s" ? { target: { value: 20_000, kind: "min" as const } } : {}),
        })),
        { metric: "tributary_burst_rows_per_s", value: c.tributary_rows_per_s, unit: "rows/s" },
        { metric: "debezium_burst_rows_per_s", value: c.debezium_rows_per_s, unit: "rows/s" },
        {
          metric: "ratio_to_debezium",
          value: c.ratio_to_debezium,
          unit: "×",
          target: { value: 2, kind: "min" },
        },
        { metric: "snapshot_rows", value: c.snapshot_rows, unit: "rows" },
        { metric: "snapshot_rows_per_s", value: c.snapshot_rows_per_s, unit: "rows/s" },
        { metric: "snapshot_peak_rss_mb", value: c.snapshot_peak_rss_mb, unit: "MB" },
        ...seconds(["silver_full_s", "silver_full_cpu_s"]),
        {
          metric: "silver_1000_changes_s",
          value: c.silver_1000_changes_s,
          unit: "s",
          target: { value: 2, kind: "max" },
        },
        ...seconds([
          "silver_1000_changes_cpu_s",
          "silver_1000_random_changes_s",
          "silver_1000_random_changes_cpu_s",
        ]),
        { metric: "keyless_rows", value: c.keyless_rows, unit: "rows" },
        ...seconds([
          "keyless_silver_full_s",
          "keyless_silver_full_cpu_s",
          "keyless_silver_1000_changes_s",
          "keyless_silver_1000_changes_cpu_s",
        ]),
      ];
    },
  }),
  iceberg: () => ({
    name: "iceberg",
    description:
      "a day of one table's Iceberg commits (an append every 5 s, hourly compaction, expiry and orphan removal): metadata size stays bounded",
    runs: 1,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runMetadataBench, METADATA_BENCH_UNITS } = await import("@tributary/lake/bench/metadata");
      const r = await runMetadataBench(quick ? { hours: 2 } : {});
      return metricsOf(r, METADATA_BENCH_UNITS, { end_to_hour1_ratio: { value: 1.5, kind: "max" } });
    },
  }),
  notebooks: () => ({
    name: "notebooks",
    description:
      "each notebook run end to end on a 48-hour demo lake; the Jupyter kernel's start and a trivial cell, seen from jupyter_client",
    runs: 3,
    warmup: true,
    async run(): Promise<Metric[]> {
      const { buildLakeFixture } = await import("@tributary/notebooks/testing/lake-fixture");
      const { runNotebooks } = await import("@tributary/notebooks/refresh");
      const dir = mkdtempSync(join(tmpdir(), "tributary-nb-bench-"));
      try {
        const lake = join(dir, "lake");
        await buildLakeFixture(lake, { hours: 48 });
        const result = await runNotebooks({
          outDir: join(dir, "out"),
          env: { ...process.env, LAKE_URI: lake },
        });
        if (!result.ok) throw new Error("a notebook failed during the benchmark");
        const { runKernelBench } = await import("@tributary/notebooks/kernel/bench");
        const kernel = await runKernelBench(quick ? 5 : 30);
        return [
          ...result.notebooks.map((n) => ({
            metric: `run_s.${n.name}`,
            value: n.durationMs / 1000,
            unit: "s",
          })),
          { metric: "kernel_start_s", value: kernel.start_s, unit: "s", target: { value: 1, kind: "max" } },
          { metric: "kernel_first_cell_ms", value: kernel.first_cell_ms, unit: "ms" },
          {
            metric: "kernel_trivial_cell_ms",
            value: kernel.trivial_cell_ms,
            unit: "ms",
            target: { value: 50, kind: "max" },
          },
          { metric: "kernel_trivial_cell_p90_ms", value: kernel.trivial_cell_p90_ms, unit: "ms" },
        ];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  }),
};

const names = positionals.length > 0 ? positionals : Object.keys(BENCHES);
for (const n of names) {
  if (!(n in BENCHES)) {
    console.error(`unknown bench ${JSON.stringify(n)}; known: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
}

const results: BenchSummary[] = [];
// This 2-core machine is shared: the load around the run says how much the wall figures can be trusted.
const loadAtStart = loadavg()[0] ?? 0;
for (const name of names) {
  const def = (BENCHES[name] as () => BenchDefinition)();
  const started = Date.now();
  const summaries = await runBench(runsOverride ? { ...def, runs: runsOverride } : def, (l) =>
    console.error(`bench ${l}`),
  );
  summaries.push({
    bench: name,
    metric: "harness_peak_rss_mb",
    value: peakRssMb(),
    unit: "MB",
    runs: 1,
    min: peakRssMb(),
    max: peakRssMb(),
  });
  console.error(`bench ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const s of summaries) {
    results.push(s);
    if (values.json) console.log(JSON.stringify(s));
    else
      console.log(
        `${s.bench.padEnd(10)} ${s.metric.padEnd(28)} ${String(s.value).padStart(12)} ${s.unit}${s.met === undefined ? "" : s.met ? "  ✔" : "  ✖ target"}`,
      );
  }
}

if (!quick && values["no-write"] !== true) {
  const file = join(import.meta.dir, "..", "BENCHMARKS.md");
  // Keep figures of benches not run this time: the file is the union of the latest run of each.
  const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
  const kept = previous
    .split("\n")
    .filter(
      (l) => l.startsWith("| ") && !l.startsWith("| bench") && !names.includes(l.split("|")[1]?.trim() ?? ""),
    );
  const command = `bun run bench ${names.join(" ")}`;
  // The figures kept from earlier runs came from their own commands: list those too.
  const earlier = [...(/^- Commands: (.*)$/m.exec(previous)?.[1] ?? "").matchAll(/`([^`]+)`/g)].map(
    (m) => m[1] as string,
  );
  const commands = [...new Set(kept.length > 0 ? [...earlier, command] : [command])];
  const load = `${loadAtStart.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end of \`${command}\``;
  const md = renderMarkdown(results, commands, nowRfc3339(), load);
  const merged = md.replace(
    "|---|---|---|---|---|---|---|\n",
    `|---|---|---|---|---|---|---|\n${kept.join("\n")}${kept.length ? "\n" : ""}`,
  );
  writeFileSync(file, keepNotes(previous, merged));
  console.error(`bench: BENCHMARKS.md updated (${file})`);
}
process.exit(0);
