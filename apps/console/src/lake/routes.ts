/** The lake browser: datasets, and one dataset's schema, sample rows and partitions (pages and JSON). */
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ConsoleDeps, queryLimits } from "../deps.ts";
import type { QueryResult } from "../sql/engine.ts";
import { responder } from "../views/respond.ts";
import { loadDatasetDocs } from "./descriptions.ts";
import { datasetPage, lakePage } from "./pages.ts";
import { checkSegment, PathError } from "./paths.ts";

export function lakeRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const limits = queryLimits(deps.config);
  const docs = loadDatasetDocs();

  const dataset = async (layerText: string, nameText: string) => {
    if (!(LAYERS as readonly string[]).includes(layerText)) {
      throw new PathError(
        `layer ${JSON.stringify(layerText.slice(0, 40))} is not one of ${LAYERS.join(", ")}`,
      );
    }
    const layer = layerText as Layer;
    const name = checkSegment(nameText, "dataset");
    const names = await deps.catalog.store.children(`${layer}/`);
    if (!names.includes(name))
      throw new HTTPException(404, { message: `no dataset ${layer}/${name} in the lake` });
    const info = await deps.catalog.dataset(layer, name);
    const partitions = await deps.catalog.partitions(layer, name).catch(() => []);
    let schema: QueryResult | null = null;
    let sample: QueryResult | null = null;
    let error: string | null = info.error ?? deps.engineUnavailable ?? null;
    if (deps.engine && info.files > 0 && info.error === null) {
      const view = `"${layer}"."${name.replaceAll('"', '""')}"`;
      try {
        await deps.overview.snapshot(); // makes sure the view exists
        schema = await deps.engine.internal(`DESCRIBE ${view}`, { ...limits, rowLimit: 500 });
        sample = await deps.engine.internal(`SELECT * FROM ${view} LIMIT 20`, { ...limits, rowLimit: 20 });
      } catch (err) {
        error = (err as Error).message;
      }
    }
    return { info, partitions, schema, sample, error, doc: docs.get(`${layer}/${name}`) };
  };

  return new Hono()
    .get("/lake", async () => {
      const o = await deps.overview.snapshot();
      return page("Lake", "lake", lakePage(o.lake.datasets, o.lake.uri));
    })
    .get("/lake/:layer/:dataset", async (c) => {
      const d = await dataset(c.req.param("layer"), c.req.param("dataset"));
      return page(
        `${d.info.layer}/${d.info.name}`,
        "lake",
        datasetPage({
          dataset: d.info,
          partitions: d.partitions,
          schema: d.schema,
          sample: d.sample,
          error: d.error,
          doc: d.doc,
        }),
      );
    })
    .get("/api/lake", async (c) => c.json((await deps.overview.snapshot()).lake))
    .get("/api/lake/:layer/:dataset", async (c) => {
      const d = await dataset(c.req.param("layer"), c.req.param("dataset"));
      return c.json({
        dataset: d.info,
        partitions: d.partitions.slice(0, 1000),
        schema: d.schema ? { columns: d.schema.columns, rows: d.schema.rows } : null,
        sample: d.sample ? { columns: d.sample.columns, rows: d.sample.rows } : null,
        error: d.error,
        description: d.doc ? { summary: d.doc.summary, columns: Object.fromEntries(d.doc.columns) } : null,
      });
    });
}
