/** `/metrics` in Prometheus text: pipeline health as the console sees it, job runs and SQL box use. */
import { MetricsRegistry, type Sample } from "@tributary/shared/metrics";
import type { RunHistory } from "@tributary/shared/scheduler/history";
import type { Overview } from "./health/overview.ts";

export class QueryCounters {
  readonly ok = { count: 0 };
  readonly refused = new Map<string, number>();

  recordOk(): void {
    this.ok.count++;
  }

  recordRefused(rule: string): void {
    this.refused.set(rule, (this.refused.get(rule) ?? 0) + 1);
  }
}

/** The console's metrics in the Prometheus text format, from one overview. */
export function renderMetrics(
  overview: Overview,
  history: RunHistory,
  queries: QueryCounters,
): Promise<string> {
  const m = new MetricsRegistry();
  const gauge = (name: string, help: string, labelNames: readonly string[], samples: Sample[]): void =>
    m.gaugeOf(name, help, labelNames, () => samples);
  const counter = (name: string, help: string, labelNames: readonly string[], samples: Sample[]): void =>
    m.counterOf(name, help, labelNames, () => samples);
  gauge("tributary_up", "1 when every part of the pipeline is healthy.", [], [[{}, overview.ok ? 1 : 0]]);
  gauge(
    "tributary_health_part_up",
    "1 when the part is healthy.",
    ["part"],
    overview.parts.map((p) => [{ part: p.part }, p.ok ? 1 : 0]),
  );
  gauge("tributary_kafka_up", "1 when the brokers answer.", [], [[{}, overview.kafka.up ? 1 : 0]]);
  gauge(
    "tributary_kafka_consumer_lag",
    "Messages not yet committed by the lake consumer group, per partition.",
    ["topic", "partition"],
    overview.kafka.topics.flatMap((t) =>
      t.partitions.map((p): Sample => [{ topic: t.topic, partition: p.partition }, Number(p.lag)]),
    ),
  );
  gauge(
    "tributary_source_up",
    "1 when the source's /health answers 200.",
    ["source"],
    overview.sources.map((s) => [{ source: s.name }, s.up ? 1 : 0]),
  );
  const ds = overview.lake.datasets;
  const perDataset = (f: (d: (typeof ds)[number]) => number): Sample[] =>
    ds.map((d) => [{ layer: d.layer, dataset: d.name }, f(d)]);
  const datasetLabels = ["layer", "dataset"];
  gauge(
    "tributary_dataset_rows",
    "Committed rows per dataset.",
    datasetLabels,
    perDataset((d) => d.rows ?? Number.NaN),
  );
  gauge(
    "tributary_dataset_files",
    "Committed Parquet files per dataset.",
    datasetLabels,
    perDataset((d) => d.files),
  );
  gauge(
    "tributary_dataset_freshness_seconds",
    "Seconds since the dataset's newest commit.",
    datasetLabels,
    perDataset((d) => d.freshnessS ?? Number.NaN),
  );
  gauge(
    "tributary_dataset_stale",
    "1 when the dataset is older than its layer's limit.",
    datasetLabels,
    perDataset((d) => (d.stale ? 1 : 0)),
  );
  counter(
    "tributary_job_runs_total",
    "Job attempts in the run history by final status.",
    ["job", "status"],
    history.countsByStatus().map((c) => [{ job: c.job, status: c.status }, c.count]),
  );
  gauge(
    "tributary_job_last_success_age_seconds",
    "Seconds since the job last succeeded.",
    ["job"],
    overview.jobs.jobs
      .filter((j) => j.lastSuccessAt !== null)
      .map((j) => [
        { job: j.spec.name },
        Math.max(0, (overview.atMs - (j.lastSuccessAt ?? 0) / 1000) / 1000),
      ]),
  );
  gauge(
    "tributary_scheduler_processes",
    "Scheduler processes by state.",
    ["state"],
    (["running", "stopped", "dead"] as const).map((state) => [
      { state },
      overview.jobs.processes.filter((p) => p.state === state).length,
    ]),
  );
  counter("tributary_console_queries_total", "SQL box queries answered.", [], [[{}, queries.ok.count]]);
  counter(
    "tributary_console_queries_refused_total",
    "SQL box queries refused, by rule.",
    ["rule"],
    [...queries.refused.entries()].map(([rule, n]) => [{ rule }, n]),
  );
  return m.text();
}
