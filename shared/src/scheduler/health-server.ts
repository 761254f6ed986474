/**
 * `/health` and `/metrics` of a scheduler process (`bun run jobs start`, JOBS_METRICS_PORT): 503 when
 * the scheduler stopped or a job kept failing longer than HEALTH_STALL_AFTER_S, with the reason.
 */
import { Hono } from "hono";
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics.ts";
import type { RunHistory } from "./history.ts";
import type { Scheduler } from "./scheduler.ts";

export function schedulerHealthApp(scheduler: Scheduler, history: RunHistory): Hono {
  const registry = new MetricsRegistry();
  registry.gaugeOf("tributary_jobs_up", "1 when the scheduler's /health reports ok.", [], () => [
    [{}, scheduler.health().ok ? 1 : 0],
  ]);
  registry.counterOf(
    "tributary_jobs_runs_total",
    "Recorded runs, by job and status.",
    ["job", "status"],
    () => history.countsByStatus().map((r) => [{ job: r.job, status: r.status }, r.count] as const),
  );
  return new Hono()
    .get("/health", (c) => {
      const report = scheduler.health();
      return c.json(report, report.ok ? 200 : 503);
    })
    .get("/metrics", async (c) =>
      c.body(await registry.text(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
    );
}

export interface HealthServer {
  readonly port: number;
  stop(): void;
}

export function serveSchedulerHealth(scheduler: Scheduler, history: RunHistory, port: number): HealthServer {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch: schedulerHealthApp(scheduler, history).fetch,
  });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
