/**
 * `bun run bench [ingest|lake|gold|cdc|notebooks …] [--json] [--runs N] [--quick] [--no-write]`
 *
 * Runs the benchmarks of every app in one harness (warm-up, several runs, median and spread) and
 * regenerates BENCHMARKS.md. `--json` prints one JSON line per result:
 * {"bench":"lake","metric":"records_per_s","value":231000,"unit":"records/s", …}.
 * `--quick` runs each bench at a small size (a smoke test, not for BENCHMARKS.md).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfigOrExit } from "@tributary/shared/config";
import { nowRfc3339 } from "@tributary/shared/time";
import { type BenchDefinition, type BenchSummary, type Metric, renderMarkdown, runBench } from "./harness.ts";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    json: { type: "boolean", default: false },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

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

const BENCHES: Record<string, () => BenchDefinition> = {
  ingest: () => ({
    name: "ingest",
    description:
      "WebSocket → Kafka: throughput, and p99 latency from simulator send to broker ack at 5,000 trades/s",
    runs: 3,
    warmup: true,
    async run(): Promise<Metric[]> {
      const { runIngestBench } = await import("../apps/ingest/src/bench.ts");
      const r = await runIngestBench({
        kafka: config.kafka,
        ...(quick ? { throughputTrades: 20_000, latencySeconds: 3 } : {}),
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
      ];
    },
  }),
  lake: () => ({
    name: "lake",
    description:
      "Kafka → committed bronze for 200-byte trades, against DuckDB alone; peak RSS; freshness p99 at 5,000 records/s",
    runs: 3,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runLakeBench } = await import("../apps/lake/src/bench.ts");
      const r = await runLakeBench(quick ? { records: 100_000, freshnessSeconds: 5, config } : { config });
      return [
        {
          metric: "records_per_s",
          value: r.records_per_s,
          unit: "records/s",
          target: { value: 200_000, kind: "min" },
        },
        { metric: "limit_records_per_s", value: r.limit_records_per_s, unit: "records/s" },
        { metric: "ratio_to_limit", value: r.ratio_to_limit, unit: "×", target: { value: 0.5, kind: "min" } },
        { metric: "peak_rss_mb", value: r.peak_rss_mb, unit: "MB", target: { value: 400, kind: "max" } },
        { metric: "cpu_us_per_record", value: r.cpu_us_per_record, unit: "µs" },
        {
          metric: "freshness_p99_ms",
          value: r.freshness_p99_ms,
          unit: "ms",
          target: { value: 2000, kind: "max" },
        },
      ];
    },
  }),
  gold: () => ({
    name: "gold",
    description:
      "full rebuild of silver and gold for 10,000,000 trades; incremental refresh after one new hour",
    runs: 1,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runGoldBench } = await import("../apps/lake/src/gold/bench.ts");
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
    description: "PostgreSQL commit → Kafka acknowledgement",
    runs: 3,
    warmup: false,
    async run(): Promise<Metric[]> {
      const { runCdcBench } = await import("../apps/ingest/src/cdc/bench.ts");
      const results = await runCdcBench({ config, ...(quick ? { rows: 20_000 } : {}) });
      return results.map((r) => ({
        metric: r.metric,
        value: r.value,
        unit: r.unit,
        ...(r.metric === "rows_per_s" ? { target: { value: 20_000, kind: "min" as const } } : {}),
      }));
    },
  }),
  notebooks: () => ({
    name: "notebooks",
    description: "each notebook run end to end on a 48-hour demo lake",
    runs: 3,
    warmup: true,
    async run(): Promise<Metric[]> {
      const { buildLakeFixture } = await import("../apps/notebooks/src/testing/lake-fixture.ts");
      const { runNotebooks } = await import("../apps/notebooks/src/refresh.ts");
      const dir = mkdtempSync(join(tmpdir(), "tributary-nb-bench-"));
      try {
        const lake = join(dir, "lake");
        await buildLakeFixture(lake, { hours: 48 });
        const result = await runNotebooks({
          outDir: join(dir, "out"),
          env: { ...process.env, LAKE_URI: lake },
        });
        if (!result.ok) throw new Error("a notebook failed during the benchmark");
        return result.notebooks.map((n) => ({
          metric: `run_s.${n.name}`,
          value: n.durationMs / 1000,
          unit: "s",
        }));
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
  const md = renderMarkdown(results, commands, nowRfc3339());
  const merged = md.replace(
    "|---|---|---|---|---|---|---|\n",
    `|---|---|---|---|---|---|---|\n${kept.join("\n")}${kept.length ? "\n" : ""}`,
  );
  writeFileSync(file, merged);
  console.error(`bench: BENCHMARKS.md updated (${file})`);
}
process.exit(0);
