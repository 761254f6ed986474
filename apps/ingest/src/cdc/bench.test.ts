import { expect, test } from "bun:test";
import { runCdcBench } from "./bench.ts";

test("runCdcBench measures commit-to-acknowledgement throughput and latency in the bench JSON shape", async () => {
  const results = await runCdcBench({ rows: 5_000, rowsPerTransaction: 1_000, timeoutMs: 60_000 });
  const byMetric = new Map(results.map((r) => [r.metric, r]));
  expect([...byMetric.keys()]).toEqual([
    "rows_per_s",
    "commit_to_ack_p50_ms",
    "commit_to_ack_p99_ms",
    "rows",
    "commit_rows_per_s",
    "rows_per_cpu_s",
  ]);
  expect(results.every((r) => r.bench === "cdc" && Number.isFinite(r.value))).toBe(true);
  expect(byMetric.get("rows")?.value).toBe(5_000);
  expect(byMetric.get("rows_per_s")?.value).toBeGreaterThan(0);
  expect(byMetric.get("commit_to_ack_p50_ms")?.value).toBeLessThanOrEqual(
    byMetric.get("commit_to_ack_p99_ms")?.value ?? -1,
  );
});
