/** The overview page and its fragments, /health, /metrics and the overview's JSON. */
import { PROMETHEUS_CONTENT_TYPE } from "@tributary/shared/metrics";
import { Hono } from "hono";
import type { ConsoleDeps } from "../deps.ts";
import { renderMetrics } from "../metrics.ts";
import { responder } from "../views/respond.ts";
import { healthBadge, overviewFragment, overviewPage } from "./pages.ts";

export function healthRoutes(deps: ConsoleDeps): Hono {
  const { page, fragment } = responder(deps);
  const snapshot = () => deps.overview.snapshot();
  return new Hono()
    .get("/health", async (c) => {
      const o = await snapshot();
      return c.json({ ok: o.ok, at: new Date(o.atMs).toISOString(), parts: o.parts }, o.ok ? 200 : 503);
    })
    .get("/metrics", async (c) =>
      c.body(await renderMetrics(await snapshot(), deps.history, deps.queries), 200, {
        "Content-Type": PROMETHEUS_CONTENT_TYPE,
      }),
    )
    .get("/", async () => page("Overview", "overview", overviewPage(await snapshot())))
    .get("/partials/overview", async () => fragment(overviewFragment(await snapshot())))
    .get("/partials/badge", async () => fragment(healthBadge(await snapshot())))
    .get("/api/overview", async (c) => c.json(await snapshot()))
    .get("/api/sources", async (c) => c.json((await snapshot()).sources))
    .get("/api/kafka", async (c) => c.json((await snapshot()).kafka));
}
