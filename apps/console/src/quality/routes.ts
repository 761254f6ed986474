/** The data quality page and its panels as JSON. */
import { Hono } from "hono";
import { type ConsoleDeps, queryLimits } from "../deps.ts";
import { responder } from "../views/respond.ts";
import { PanelCache, qualityPanels } from "./charts.ts";
import { qualityPage } from "./pages.ts";

export function qualityRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const cache = new PanelCache();
  const panels = async () => {
    const o = await deps.overview.snapshot();
    return deps.engine ? qualityPanels(deps.engine, o.lake.datasets, queryLimits(deps.config), cache) : [];
  };
  return new Hono()
    .get("/quality", async () =>
      page("Data quality", "quality", qualityPage(await panels(), deps.engineUnavailable)),
    )
    .get("/api/quality", async (c) => c.json(await panels()));
}
