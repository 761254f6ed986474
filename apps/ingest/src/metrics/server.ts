/** The ingester's hono endpoint: `/health` (200 or 503 with a JSON report) and `/metrics` (Prometheus text). */
import { Hono } from "hono";
import type { IngestMetrics } from "./ingest-metrics.ts";

export function createMetricsApp(metrics: IngestMetrics): Hono {
  const app = new Hono();
  app.get("/health", (c) => {
    const report = metrics.health();
    return c.json(report, report.ok ? 200 : 503);
  });
  app.get("/metrics", () => metrics.registry.response());
  return app;
}

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Serves the app on 127.0.0.1:`port` (0 picks a free port). */
export function serveMetrics(metrics: IngestMetrics, port: number, hostname = "127.0.0.1"): MetricsServer {
  const app = createMetricsApp(metrics);
  const server = Bun.serve({ port, hostname, fetch: app.fetch });
  return {
    port: server.port ?? port,
    stop: async () => {
      await server.stop(true);
    },
  };
}
