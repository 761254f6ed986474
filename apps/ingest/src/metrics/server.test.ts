import { expect, test } from "bun:test";
import { checkMetrics } from "@tributary/shared/testing/promtool";
import { IngestMetrics } from "./ingest-metrics.ts";
import { createMetricsApp } from "./server.ts";

test("/metrics renders Prometheus text with HELP, TYPE and labelled series that promtool accepts", async () => {
  const m = new IngestMetrics("stream");
  m.tradeAcked("BTC/USD", "ws", Date.now() - 2_000);
  m.tradeAcked("BTC/USD", "rest", Date.now() - 1_000);
  m.reconnects.inc({ reason: "stale" });
  m.backfilled.inc({ symbol: "BTC/USD" }, 7);
  m.dlq.inc({ topic: "trades", kind: "frame is not JSON" });
  const res = await createMetricsApp(m).request("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const text = await res.text();
  expect(checkMetrics(text)).toEqual({ exitCode: 0, problems: [] });
  expect(text).toContain("# TYPE tributary_ingest_trades_total counter");
  expect(text).toContain('tributary_ingest_trades_total{symbol="BTC/USD",source="ws"} 1');
  expect(text).toContain('tributary_ingest_ws_reconnects_total{reason="stale"} 1');
  expect(text).toContain('tributary_ingest_backfilled_trades_total{symbol="BTC/USD"} 7');
  expect(text).toContain('tributary_ingest_dlq_total{topic="trades",kind="frame is not JSON"} 1');
  expect(text).toMatch(/tributary_ingest_last_trade_age_seconds\{symbol="BTC\/USD"\} 1\.\d+/);
  expect(text).toContain("# TYPE tributary_ingest_trades_per_second gauge");
});

test("/health is 200 while things work and 503 with the reason when the WebSocket is down too long", async () => {
  const m = new IngestMetrics("stream");
  m.wsConnected = true;
  m.wsDisconnectedSinceMs = undefined;
  const app = createMetricsApp(m);
  expect((await app.request("/health")).status).toBe(200);
  m.wsConnected = false;
  m.wsDisconnectedSinceMs = Date.now() - 60_000;
  const res = await app.request("/health");
  expect(res.status).toBe(503);
  const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; detail: string }> };
  expect(body.ok).toBe(false);
  expect(body.checks.websocket?.detail).toMatch(/disconnected for 60 s/);
});
