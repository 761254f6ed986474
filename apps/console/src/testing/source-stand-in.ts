/**
 * A stand-in for a pipeline process's health endpoint (`/health` and `/metrics` on 127.0.0.1),
 * for tests that run the console without the ingester, CDC or lake writer processes. Its counter
 * grows on every scrape so that the overview visibly shows live values.
 */
export interface SourceStandIn {
  readonly port: number;
  setHealthy(healthy: boolean): void;
  stop(): void;
}

/** `extraMetrics`: more Prometheus lines served as they are (e.g. the ingester's feed ages). */
export function startSourceStandIn(name: string, extraMetrics = ""): SourceStandIn {
  let healthy = true;
  let scrapes = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/health") {
        // The shared health report's shape (shared/src/health.ts), as every app answers.
        const checks = {
          kafka: healthy
            ? { ok: true, detail: "nothing waiting" }
            : {
                ok: false,
                detail: "stalled: 12 records wait and no Kafka acknowledgement for 61 s (limit 60 s)",
              },
        };
        return Response.json({ ok: healthy, component: name, checks }, { status: healthy ? 200 : 503 });
      }
      if (path === "/metrics") {
        scrapes++;
        return new Response(
          `# HELP ${name}_records_total Records handled.\n# TYPE ${name}_records_total counter\n${name}_records_total ${scrapes * 10}\n${name}_up 1\n${extraMetrics}`,
          { headers: { "Content-Type": "text/plain; version=0.0.4" } },
        );
      }
      return new Response("not found", { status: 404 });
    },
  });
  return {
    port: server.port ?? 0,
    setHealthy(h) {
      healthy = h;
    },
    stop() {
      server.stop(true);
    },
  };
}
