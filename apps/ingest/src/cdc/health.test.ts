import { describe, expect, test } from "bun:test";
import { checkMetrics } from "@tributary/shared/testing/promtool";
import { cdcHealthApp } from "./health.ts";
import { CdcMetrics } from "./metrics.ts";

describe("CDC health endpoint", () => {
  test("/health is 503 until streaming, 200 while LSNs are confirmed, 503 once WAL waits past the limit", async () => {
    let now = 1_000_000;
    const metrics = new CdcMetrics(1000, () => now);
    const app = cdcHealthApp(metrics);
    const starting = await app.request("/health");
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ ok: false, checks: { source: { ok: false } } });
    metrics.state = "streaming";
    metrics.recordAcked(10, 500n);
    const ok = await app.request("/health");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, state: "streaming", confirmed_lsn: "0/1F4" });
    // WAL arrives after a long idle spell: the idle time is not a stall, the wait starts now.
    now += 60_000;
    metrics.seenWalEnd(900n);
    expect((await app.request("/health")).status).toBe(200);
    now += 999;
    expect((await app.request("/health")).status).toBe(200);
    now += 4001;
    const stuck = await app.request("/health");
    expect(stuck.status).toBe(503);
    const body = (await stuck.json()) as { checks: { wal: { ok: boolean; detail: string } } };
    expect(body).toMatchObject({ ok: false, lag_bytes: 400 });
    expect(body.checks.wal.detail).toBe(
      "stalled: 400 bytes of WAL wait and no confirmed LSN for 5 s (limit 1 s)",
    );
    // A confirmed LSN is progress: healthy again, and nothing waits once everything is confirmed.
    metrics.recordAcked(3, 900n);
    expect((await app.request("/health")).status).toBe(200);
  });

  test("reconnecting is work waiting: healthy within the limit, 503 past it naming the last error", async () => {
    let now = 0;
    const metrics = new CdcMetrics(2000, () => now);
    metrics.state = "reconnecting";
    metrics.lastError = "connect ECONNREFUSED 127.0.0.1:5433";
    const app = cdcHealthApp(metrics);
    expect((await app.request("/health")).status).toBe(200);
    now += 2500;
    const down = await app.request("/health");
    expect(down.status).toBe(503);
    const body = (await down.json()) as { checks: { wal: { detail: string } } };
    expect(body.checks.wal.detail).toStartWith(
      "stalled: reconnecting to PostgreSQL (last error: connect ECONNREFUSED",
    );
    metrics.state = "failed";
    const failed = (await (await app.request("/health")).json()) as {
      checks: { source: { detail: string } };
    };
    expect(failed.checks.source.detail).toStartWith("the CDC source is failed, not streaming");
  });

  test("/metrics exposes rows/s, lag bytes, the confirmed LSN and the DLQ count in Prometheus text promtool accepts", async () => {
    const metrics = new CdcMetrics();
    metrics.state = "streaming";
    const t0 = Date.now();
    metrics.recordAcked(0, 100n, t0 - 2000);
    metrics.recordAcked(4000, 1100n, t0);
    metrics.seenWalEnd(1500n);
    metrics.dlq = 2;
    const body = await (await cdcHealthApp(metrics).request("/metrics")).text();
    expect(checkMetrics(body)).toEqual({ exitCode: 0, problems: [] });
    expect(body).toContain("tributary_cdc_rows_per_second 2000\n");
    expect(body).toContain("tributary_cdc_lag_bytes 400");
    expect(body).toContain("tributary_cdc_confirmed_lsn 1100");
    expect(body).toContain("tributary_cdc_dlq_total 2");
    expect(body).toContain("tributary_cdc_up 1");
  });
});
