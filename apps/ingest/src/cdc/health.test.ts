import { describe, expect, test } from "bun:test";
import { checkMetrics } from "@tributary/shared/testing/promtool";
import { cdcHealthApp } from "./health.ts";
import { CdcMetrics } from "./metrics.ts";

describe("CDC health endpoint", () => {
  test("/health is 200 while streaming and 503 when stopped or stuck with WAL waiting", async () => {
    const metrics = new CdcMetrics();
    const app = cdcHealthApp(metrics, { staleAfterMs: 1000 });
    expect((await app.request("/health")).status).toBe(503); // starting
    metrics.state = "streaming";
    metrics.recordAcked(10, 500n);
    const ok = await app.request("/health");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, state: "streaming", confirmed_lsn: "0/1F4" });
    metrics.seenWalEnd(900n);
    metrics.lastProgressAt = Date.now() - 5000;
    const stuck = await app.request("/health");
    expect(stuck.status).toBe(503);
    const body = (await stuck.json()) as { reason: string };
    expect(body).toMatchObject({ ok: false, stuck: true, lag_bytes: 400 });
    expect(body.reason).toStartWith("stalled: 400 bytes of WAL wait and no LSN was confirmed for 5 s");
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
