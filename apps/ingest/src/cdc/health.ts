/** `/health` and `/metrics` (Prometheus text) for the CDC source, on config.ports.cdcMetrics. */
import { MetricsRegistry } from "@tributary/shared/metrics";
import { Hono } from "hono";
import type { CdcMetrics } from "./metrics.ts";

/** `/health`: the shared report (`ok`, `checks.source`, `checks.wal`) with the source's counters. */
export function cdcHealthApp(metrics: CdcMetrics): Hono {
  const app = new Hono();
  app.get("/health", (c) => {
    const report = metrics.health();
    return c.json({ ...report, ...metrics.snapshotJson() }, report.ok ? 200 : 503);
  });
  const registry = cdcRegistry(metrics);
  app.get("/metrics", () => registry.response());
  return app;
}

/** The source's families, read from its live counters at scrape time. */
function cdcRegistry(m: CdcMetrics): MetricsRegistry {
  const registry = new MetricsRegistry();
  const gauge = (name: string, help: string, read: () => number) =>
    registry.gaugeOf(name, help, [], () => [[{}, read()]]);
  const counter = (name: string, help: string, read: () => number) =>
    registry.counterOf(name, help, [], () => [[{}, read()]]);
  gauge(
    "tributary_cdc_rows_per_second",
    "Change events acknowledged by Kafka per second (10 s window).",
    () => Math.round(m.rowsPerSecond() * 10) / 10,
  );
  gauge("tributary_cdc_lag_bytes", "WAL bytes on the server not yet acknowledged by Kafka.", () =>
    Number(m.lagBytes()),
  );
  // A 64-bit LSN is exact as a float up to 2^53 bytes of WAL (8 PiB).
  gauge(
    "tributary_cdc_confirmed_lsn",
    "Last LSN confirmed to PostgreSQL (every change up to it is in Kafka).",
    () => Number(m.confirmedLsn),
  );
  counter("tributary_cdc_dlq_total", "Records sent to the dead-letter topic.", () => m.dlq);
  counter("tributary_cdc_snapshot_rows_total", "Rows read by the initial snapshot.", () => m.snapshotRows);
  counter("tributary_cdc_changes_total", "Row changes streamed from the WAL.", () => m.changes);
  counter("tributary_cdc_transactions_total", "Transactions streamed from the WAL.", () => m.transactions);
  counter("tributary_cdc_reconnects_total", "Replication connections re-established.", () => m.reconnects);
  counter(
    "tributary_cdc_incremental_snapshot_rows_total",
    "Rows read by incremental snapshots.",
    () => m.incrementalRows,
  );
  gauge(
    "tributary_cdc_incremental_snapshot_table_rows",
    "Rows of the table being snapshotted incrementally read so far.",
    () => m.incremental.tableRows,
  );
  gauge(
    "tributary_cdc_incremental_snapshot_estimated_rows",
    "Estimated rows of the table being snapshotted incrementally (0: none).",
    () => m.incremental.estimatedRows,
  );
  gauge(
    "tributary_cdc_incremental_snapshot_tables_left",
    "Tables queued for an incremental snapshot, the current one included.",
    () => m.incremental.tablesLeft,
  );
  counter("tributary_cdc_signals_total", "Signal-table signals acted on.", () => m.signals);
  counter("tributary_cdc_signal_errors_total", "Signal rows refused.", () => m.signalErrors);
  gauge("tributary_cdc_up", "1 when /health reports ok.", () => (m.health().ok ? 1 : 0));
  return registry;
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
