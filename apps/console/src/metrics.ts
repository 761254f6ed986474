/** `/metrics` in Prometheus text: pipeline health as the console sees it, job runs and SQL box use. */
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

const label = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function renderMetrics(overview: Overview, history: RunHistory, queries: QueryCounters): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [string, number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples)
      lines.push(`${name}${labels} ${Number.isFinite(value) ? value : "NaN"}`);
  };
  metric("tributary_up", "gauge", "1 when every part of the pipeline is healthy.", [
    ["", overview.ok ? 1 : 0],
  ]);
  metric(
    "tributary_health_part_up",
    "gauge",
    "1 when the part is healthy.",
    overview.parts.map((p) => [`{part="${label(p.part)}"}`, p.ok ? 1 : 0]),
  );
  metric("tributary_kafka_up", "gauge", "1 when the brokers answer.", [["", overview.kafka.up ? 1 : 0]]);
  metric(
    "tributary_kafka_consumer_lag",
    "gauge",
    "Messages not yet committed by the lake consumer group, per partition.",
    overview.kafka.topics.flatMap((t) =>
      t.partitions.map((p): [string, number] => [
        `{topic="${label(t.topic)}",partition="${p.partition}"}`,
        Number(p.lag),
      ]),
    ),
  );
  metric(
    "tributary_source_up",
    "gauge",
    "1 when the source's /health answers 200.",
    overview.sources.map((s) => [`{source="${s.name}"}`, s.up ? 1 : 0]),
  );
  const ds = overview.lake.datasets;
  const dsLabel = (d: (typeof ds)[number]): string => `{layer="${d.layer}",dataset="${label(d.name)}"}`;
  metric(
    "tributary_dataset_rows",
    "gauge",
    "Committed rows per dataset.",
    ds.map((d) => [dsLabel(d), d.rows ?? Number.NaN]),
  );
  metric(
    "tributary_dataset_files",
    "gauge",
    "Committed Parquet files per dataset.",
    ds.map((d) => [dsLabel(d), d.files]),
  );
  metric(
    "tributary_dataset_freshness_seconds",
    "gauge",
    "Seconds since the dataset's newest commit.",
    ds.map((d) => [dsLabel(d), d.freshnessS ?? Number.NaN]),
  );
  metric(
    "tributary_dataset_stale",
    "gauge",
    "1 when the dataset is older than its layer's limit.",
    ds.map((d) => [dsLabel(d), d.stale ? 1 : 0]),
  );
  metric(
    "tributary_job_runs_total",
    "counter",
    "Job attempts in the run history by final status.",
    history.countsByStatus().map((c) => [`{job="${label(c.job)}",status="${c.status}"}`, c.count]),
  );
  metric(
    "tributary_job_last_success_age_seconds",
    "gauge",
    "Seconds since the job last succeeded.",
    overview.jobs.jobs
      .filter((j) => j.lastSuccessAt !== null)
      .map((j) => [
        `{job="${label(j.spec.name)}"}`,
        Math.max(0, (overview.atMs - (j.lastSuccessAt ?? 0) / 1000) / 1000),
      ]),
  );
  metric(
    "tributary_scheduler_processes",
    "gauge",
    "Scheduler processes by state.",
    (["running", "stopped", "dead"] as const).map((s) => [
      `{state="${s}"}`,
      overview.jobs.processes.filter((p) => p.state === s).length,
    ]),
  );
  metric("tributary_console_queries_total", "counter", "SQL box queries answered.", [["", queries.ok.count]]);
  metric(
    "tributary_console_queries_refused_total",
    "counter",
    "SQL box queries refused, by rule.",
    [...queries.refused.entries()].map(([rule, n]) => [`{rule="${label(rule)}"}`, n]),
  );
  return `${lines.join("\n")}\n`;
}
