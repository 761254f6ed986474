/**
 * Visibility of the bronze writer: `/health` (JSON; 200 when healthy, 503 if not) and `/metrics`
 * (Prometheus text) with per-partition lag, rows/s, files and last commit age.
 */
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
  /** Seconds since the last successful flush while rows were waiting; 0 when idle. */
  readonly stalledSeconds: number;
}

/** Unhealthy when stopped, or when buffered rows have waited this long without a successful flush. */
export const STALL_LIMIT_SECONDS = 60;

export function isHealthy(s: WriterSnapshot): boolean {
  return s.running && s.stalledSeconds < STALL_LIMIT_SECONDS;
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
  app.get("/metrics", (c) =>
    c.text(prometheusText(snapshot()), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  return app;
}

const label = (v: string | number): string =>
  String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function prometheusText(s: WriterSnapshot): string {
  const lines: string[] = [];
  const gauge = (
    name: string,
    help: string,
    type: "gauge" | "counter",
    rows: Array<[Record<string, string | number>, number]>,
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(",");
      lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  const per = (f: (p: PartitionSnapshot) => number): Array<[Record<string, string | number>, number]> =>
    s.partitions.map((p) => [{ topic: p.topic, partition: p.partition, dataset: p.dataset }, f(p)]);
  gauge(
    "tributary_lake_partition_lag",
    "Kafka high watermark minus the next offset committed to the lake.",
    "gauge",
    per((p) => p.lag),
  );
  gauge(
    "tributary_lake_partition_rows_total",
    "Rows committed to bronze by this writer.",
    "counter",
    per((p) => p.rowsTotal),
  );
  gauge(
    "tributary_lake_partition_rows_per_second",
    "Rows committed per second over the last window.",
    "gauge",
    per((p) => p.rowsPerSecond),
  );
  gauge(
    "tributary_lake_partition_files_total",
    "Parquet files committed by this writer.",
    "counter",
    per((p) => p.filesTotal),
  );
  gauge(
    "tributary_lake_partition_last_commit_age_seconds",
    "Seconds since the last commit (-1: none yet).",
    "gauge",
    per((p) => p.lastCommitAgeSeconds),
  );
  gauge("tributary_lake_buffered_rows", "Rows buffered, not yet flushed.", "gauge", [[{}, s.bufferedRows]]);
  gauge("tributary_lake_buffered_bytes", "Bytes buffered plus bytes of the flush in flight.", "gauge", [
    [{}, s.bufferedBytes + s.inFlightBytes],
  ]);
  gauge("tributary_lake_memory_budget_bytes", "Buffer budget; fetching pauses above it.", "gauge", [
    [{}, s.memoryBudgetBytes],
  ]);
  gauge("tributary_lake_fetch_paused", "1 while fetching is paused for back-pressure.", "gauge", [
    [{}, s.paused ? 1 : 0],
  ]);
  gauge("tributary_lake_commits_total", "Commit records written.", "counter", [[{}, s.commitsTotal]]);
  gauge("tributary_lake_flushes_total", "Flushes completed.", "counter", [[{}, s.flushesTotal]]);
  gauge(
    "tributary_lake_flush_failures_total",
    "Flushes that failed (their partitions resume from the lake).",
    "counter",
    [[{}, s.flushFailuresTotal]],
  );
  gauge(
    "tributary_lake_commit_conflicts_total",
    "Commits lost to another writer of the same range.",
    "counter",
    [[{}, s.commitConflictsTotal]],
  );
  gauge(
    "tributary_lake_offset_gaps_total",
    "Times Kafka no longer held the next offset (retention).",
    "counter",
    [[{}, s.offsetGapsTotal]],
  );
  gauge(
    "tributary_lake_event_time_fallbacks_total",
    "Rows whose event time fell back to the Kafka timestamp.",
    "counter",
    [[{}, s.eventTimeFallbacksTotal]],
  );
  gauge("tributary_lake_last_flush_seconds", "Duration of the last flush.", "gauge", [
    [{}, s.lastFlushSeconds],
  ]);
  gauge("process_resident_memory_bytes", "Resident set size.", "gauge", [[{}, process.memoryUsage.rss()]]);
  return `${lines.join("\n")}\n`;
}
