/**
 * Visibility of the bronze writer: `/health` (JSON; 200 when healthy, 503 if not) and `/metrics`
 * (Prometheus text) with per-partition lag, rows/s, files and last commit age.
 */
import type { HealthReport } from "@tributary/shared/health";
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE, type Sample } from "@tributary/shared/metrics";
import { Hono } from "hono";

export interface PartitionSnapshot {
  readonly topic: string;
  readonly partition: number;
  readonly dataset: string;
  /** Next offset the lake will hold (committed tip + 1); -1 until recovered. */
  readonly committedNext: number;
  readonly highWatermark: number;
  readonly lag: number;
  readonly rowsTotal: number;
  readonly rowsPerSecond: number;
  readonly filesTotal: number;
  /** Seconds since this writer last committed the partition; -1 if never. */
  readonly lastCommitAgeSeconds: number;
}

export interface WriterSnapshot {
  readonly running: boolean;
  readonly groupId: string;
  readonly writerId: string;
  readonly partitions: readonly PartitionSnapshot[];
  readonly bufferedRows: number;
  readonly bufferedBytes: number;
  readonly inFlightBytes: number;
  readonly memoryBudgetBytes: number;
  readonly paused: boolean;
  readonly commitsTotal: number;
  readonly filesTotal: number;
  readonly rowsTotal: number;
  readonly flushesTotal: number;
  readonly flushFailuresTotal: number;
  readonly commitConflictsTotal: number;
  readonly offsetGapsTotal: number;
  readonly eventTimeFallbacksTotal: number;
  readonly lastFlushSeconds: number;
  readonly lastFlushError: string | undefined;
  /** Progress checks (shared/src/health.ts): commits while lag or rows wait, fetches from Kafka. */
  readonly health: HealthReport;
}

/** Unhealthy when stopped, or when a progress check stalled (HEALTH_STALL_AFTER_S). */
export function isHealthy(s: WriterSnapshot): boolean {
  return s.running && s.health.ok;
}

export function metricsApp(snapshot: () => WriterSnapshot): Hono {
  const app = new Hono();
  app.get("/health", (c) => {
    const s = snapshot();
    const healthy = isHealthy(s);
    return c.json(
      {
        status: healthy ? "ok" : "unhealthy",
        running: s.running,
        group: s.groupId,
        writer: s.writerId,
        buffered_rows: s.bufferedRows,
        buffered_bytes: s.bufferedBytes,
        paused: s.paused,
        last_flush_error: s.lastFlushError ?? null,
        checks: s.health.checks,
        partitions: s.partitions.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          dataset: p.dataset,
          lag: p.lag,
          rows_per_s: p.rowsPerSecond,
          files: p.filesTotal,
          last_commit_age_s: p.lastCommitAgeSeconds,
        })),
      },
      healthy ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) =>
    c.text(await prometheusText(snapshot()), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}

/** The writer's metrics in the Prometheus text format, from one snapshot. */
export function prometheusText(s: WriterSnapshot): Promise<string> {
  const m = new MetricsRegistry();
  const partitionLabels = ["topic", "partition", "dataset"];
  const per = (f: (p: PartitionSnapshot) => number) => (): Sample[] =>
    s.partitions.map((p) => [{ topic: p.topic, partition: p.partition, dataset: p.dataset }, f(p)]);
  const one = (value: number) => (): Sample[] => [[{}, value]];
  m.gaugeOf(
    "tributary_lake_partition_lag",
    "Kafka high watermark minus the next offset committed to the lake.",
    partitionLabels,
    per((p) => p.lag),
  );
  m.counterOf(
    "tributary_lake_partition_rows_total",
    "Rows committed to bronze by this writer.",
    partitionLabels,
    per((p) => p.rowsTotal),
  );
  m.gaugeOf(
    "tributary_lake_partition_rows_per_second",
    "Rows committed per second over the last window.",
    partitionLabels,
    per((p) => p.rowsPerSecond),
  );
  m.counterOf(
    "tributary_lake_partition_files_total",
    "Parquet files committed by this writer.",
    partitionLabels,
    per((p) => p.filesTotal),
  );
  m.gaugeOf(
    "tributary_lake_partition_last_commit_age_seconds",
    "Seconds since the last commit (-1: none yet).",
    partitionLabels,
    per((p) => p.lastCommitAgeSeconds),
  );
  m.gaugeOf("tributary_lake_buffered_rows", "Rows buffered, not yet flushed.", [], one(s.bufferedRows));
  m.gaugeOf(
    "tributary_lake_buffered_bytes",
    "Bytes buffered plus bytes of the flush in flight.",
    [],
    one(s.bufferedBytes + s.inFlightBytes),
  );
  m.gaugeOf(
    "tributary_lake_memory_budget_bytes",
    "Buffer budget; fetching pauses above it.",
    [],
    one(s.memoryBudgetBytes),
  );
  m.gaugeOf(
    "tributary_lake_fetch_paused",
    "1 while fetching is paused for back-pressure.",
    [],
    one(s.paused ? 1 : 0),
  );
  m.counterOf("tributary_lake_commits_total", "Commit records written.", [], one(s.commitsTotal));
  m.counterOf("tributary_lake_flushes_total", "Flushes completed.", [], one(s.flushesTotal));
  m.counterOf(
    "tributary_lake_flush_failures_total",
    "Flushes that failed (their partitions resume from the lake).",
    [],
    one(s.flushFailuresTotal),
  );
  m.counterOf(
    "tributary_lake_commit_conflicts_total",
    "Commits lost to another writer of the same range.",
    [],
    one(s.commitConflictsTotal),
  );
  m.counterOf(
    "tributary_lake_offset_gaps_total",
    "Times Kafka no longer held the next offset (retention).",
    [],
    one(s.offsetGapsTotal),
  );
  m.counterOf(
    "tributary_lake_event_time_fallbacks_total",
    "Rows whose event time fell back to the Kafka timestamp.",
    [],
    one(s.eventTimeFallbacksTotal),
  );
  m.gaugeOf("tributary_lake_last_flush_seconds", "Duration of the last flush.", [], one(s.lastFlushSeconds));
  m.gaugeOf("process_resident_memory_bytes", "Resident set size.", [], one(process.memoryUsage.rss()));
  return m.text();
}
