import { expect, test } from "bun:test";
import { checkMetrics } from "@tributary/shared/testing/promtool";
import { metricsApp, type WriterSnapshot } from "./metrics.ts";

const snapshot = (over: Partial<WriterSnapshot> = {}): WriterSnapshot => ({
  running: true,
  groupId: "g",
  writerId: "w1",
  partitions: [
    {
      topic: "kraken.trades",
      partition: 3,
      dataset: "kraken_trades",
      committedNext: 120,
      highWatermark: 150,
      lag: 30,
      rowsTotal: 120,
      rowsPerSecond: 12,
      filesTotal: 4,
      lastCommitAgeSeconds: 1.5,
    },
  ],
  bufferedRows: 5,
  bufferedBytes: 1000,
  inFlightBytes: 24,
  memoryBudgetBytes: 4096,
  paused: false,
  commitsTotal: 2,
  filesTotal: 4,
  rowsTotal: 120,
  flushesTotal: 2,
  flushFailuresTotal: 0,
  commitConflictsTotal: 0,
  offsetGapsTotal: 0,
  eventTimeFallbacksTotal: 1,
  lastFlushSeconds: 0.05,
  lastFlushError: undefined,
  health: {
    ok: true,
    checks: { commits: { ok: true, detail: "lag 30 records; last a commit with rows: 1 s ago" } },
  },
  ...over,
});

test("/metrics exposes per-partition lag, rows/s, files and last commit age in Prometheus text promtool accepts", async () => {
  const res = await metricsApp(() => snapshot()).request("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  expect(checkMetrics(text)).toEqual({ exitCode: 0, problems: [] });
  const labels = 'topic="kraken.trades",partition="3",dataset="kraken_trades"';
  expect(text).toContain(`tributary_lake_partition_lag{${labels}} 30`);
  expect(text).toContain(`tributary_lake_partition_rows_per_second{${labels}} 12`);
  expect(text).toContain(`tributary_lake_partition_files_total{${labels}} 4`);
  expect(text).toContain(`tributary_lake_partition_last_commit_age_seconds{${labels}} 1.5`);
  expect(text).toContain("tributary_lake_buffered_bytes 1024");
  expect(text).toContain("# TYPE tributary_lake_commits_total counter");
});

test("/health is 200 while the writer runs and flushes, 503 when stopped or stalled", async () => {
  const ok = await metricsApp(() => snapshot()).request("/health");
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as {
    status: string;
    partitions: Array<{ lag: number; last_commit_age_s: number }>;
  };
  expect(body.status).toBe("ok");
  expect(body.partitions[0]).toMatchObject({ lag: 30, last_commit_age_s: 1.5 });
  expect((await metricsApp(() => snapshot({ running: false })).request("/health")).status).toBe(503);
  const stalled = await metricsApp(() =>
    snapshot({
      health: { ok: false, checks: { commits: { ok: false, detail: "stalled: lag 30 records" } } },
      lastFlushError: "S3 down",
    }),
  ).request("/health");
  expect(stalled.status).toBe(503);
  expect(((await stalled.json()) as { last_flush_error: string }).last_flush_error).toBe("S3 down");
});
