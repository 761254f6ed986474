/** `/health` and `/metrics` (Prometheus text) for the CDC source, on config.ports.cdcMetrics. */
import { Hono } from "hono";
import type { CdcMetrics } from "./metrics.ts";

export interface CdcHealthOptions {
  /** Unhealthy when WAL is waiting and nothing was acknowledged for this long. */
  readonly staleAfterMs?: number;
}

export function cdcHealthApp(metrics: CdcMetrics, opts: CdcHealthOptions = {}): Hono {
  const staleAfterMs = opts.staleAfterMs ?? 60_000;
  const app = new Hono();
  app.get("/health", (c) => {
    const live = metrics.state === "snapshot" || metrics.state === "streaming";
    const stuck = metrics.lagBytes() > 0n && Date.now() - metrics.lastProgressAt > staleAfterMs;
    const ok = live && !stuck;
    return c.json({ ok, stuck, ...metrics.snapshotJson() }, ok ? 200 : 503);
  });
  app.get("/metrics", (c) => {
    const lines = [
      "# HELP tributary_cdc_rows_per_second Change events acknowledged by Kafka per second (10 s window).",
      "# TYPE tributary_cdc_rows_per_second gauge",
      `tributary_cdc_rows_per_second ${metrics.rowsPerSecond().toFixed(1)}`,
      "# HELP tributary_cdc_lag_bytes WAL bytes on the server not yet acknowledged by Kafka.",
      "# TYPE tributary_cdc_lag_bytes gauge",
      `tributary_cdc_lag_bytes ${metrics.lagBytes()}`,
      "# HELP tributary_cdc_confirmed_lsn Last LSN confirmed to PostgreSQL (every change up to it is in Kafka).",
      "# TYPE tributary_cdc_confirmed_lsn gauge",
      `tributary_cdc_confirmed_lsn ${metrics.confirmedLsn}`,
      "# HELP tributary_cdc_dlq_total Records sent to the dead-letter topic.",
      "# TYPE tributary_cdc_dlq_total counter",
      `tributary_cdc_dlq_total ${metrics.dlq}`,
      "# TYPE tributary_cdc_snapshot_rows_total counter",
      `tributary_cdc_snapshot_rows_total ${metrics.snapshotRows}`,
      "# TYPE tributary_cdc_changes_total counter",
      `tributary_cdc_changes_total ${metrics.changes}`,
      "# TYPE tributary_cdc_transactions_total counter",
      `tributary_cdc_transactions_total ${metrics.transactions}`,
      "# TYPE tributary_cdc_reconnects_total counter",
      `tributary_cdc_reconnects_total ${metrics.reconnects}`,
      "# HELP tributary_cdc_up 1 while snapshotting or streaming.",
      "# TYPE tributary_cdc_up gauge",
      `tributary_cdc_up ${metrics.state === "snapshot" || metrics.state === "streaming" ? 1 : 0}`,
    ];
    return c.text(`${lines.join("\n")}\n`, 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}

export interface HealthServer {
  readonly port: number;
  stop(): void;
}

/** Serves the app on 127.0.0.1; port 0 picks a free one (tests). */
export function serveCdcHealth(app: Hono, port: number): HealthServer {
  const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: app.fetch });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
