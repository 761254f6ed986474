/**
 * The lake browser: datasets, and one dataset's schema, sample rows, partitions and Iceberg history
 * (pages and JSON); `?as_of=<snapshot id | RFC 3339 time>` shows the dataset as that snapshot holds it.
 */
import { parquetScan } from "@tributary/shared/duckdb";
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ConsoleDeps, queryLimits } from "../deps.ts";
import type { QueryResult } from "../sql/engine.ts";
import { responder } from "../views/respond.ts";
import { loadDatasetDocs } from "./descriptions.ts";
import { AsOfError, AsOfNotFound, parseAsOf, type SnapshotRow, type TableHistory } from "./history.ts";
import { datasetPage, lakePage } from "./pages.ts";
import { checkSegment, PathError } from "./paths.ts";

export function lakeRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const limits = queryLimits(deps.config);
  const docs = loadDatasetDocs();

  const checked = async (layerText: string, nameText: string): Promise<{ layer: Layer; name: string }> => {
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
    return { layer, name };
  };

  /** The snapshot `as_of` names and its files; 400 for bad text, 404 for no such table or snapshot. */
  const asOfRead = async (layer: Layer, name: string, text: string) => {
    try {
      return await deps.tables.resolve(layer, name, parseAsOf(text));
    } catch (err) {
      if (err instanceof AsOfError) throw new HTTPException(400, { message: err.message });
      if (err instanceof AsOfNotFound) throw new HTTPException(404, { message: err.message });
      throw err;
    }
  };

  const dataset = async (layerText: string, nameText: string, asOfText: string | undefined) => {
    const { layer, name } = await checked(layerText, nameText);
    const info = await deps.catalog.dataset(layer, name);
    const partitions = await deps.catalog.partitions(layer, name).catch(() => []);
    const history: TableHistory | undefined = await deps.tables
      .history(layer, name, 50)
      .catch(() => undefined);
    const asOf =
      asOfText === undefined || asOfText === "" ? undefined : await asOfRead(layer, name, asOfText);
    let schema: QueryResult | null = null;
    let sample: QueryResult | null = null;
    let asOfRows: number | null = null;
    let error: string | null = info.error ?? deps.engineUnavailable ?? null;
    if (deps.engine && asOf !== undefined) {
      // The snapshot's own files, read as the dataset's view reads the Hive tree (same columns).
      const source = asOf.paths.length === 0 ? undefined : parquetScan(asOf.paths);
      if (source !== undefined) {
        try {
          schema = await deps.engine.internal(`DESCRIBE SELECT * FROM ${source}`, {
            ...limits,
            rowLimit: 500,
          });
          sample = await deps.engine.internal(`SELECT * FROM ${source} LIMIT 20`, {
            ...limits,
            rowLimit: 20,
          });
          const n = await deps.engine.internal(`SELECT count(*)::VARCHAR FROM ${source}`, {
            ...limits,
            rowLimit: 1,
          });
          asOfRows = Number(n.rows[0]?.[0]);
        } catch (err) {
          error = (err as Error).message;
        }
      } else asOfRows = 0;
    } else if (deps.engine && info.files > 0 && info.error === null) {
      const view = `"${layer}"."${name.replaceAll('"', '""')}"`;
      try {
        await deps.overview.snapshot(); // makes sure the view exists
        schema = await deps.engine.internal(`DESCRIBE ${view}`, { ...limits, rowLimit: 500 });
        sample = await deps.engine.internal(`SELECT * FROM ${view} LIMIT 20`, { ...limits, rowLimit: 20 });
      } catch (err) {
        error = (err as Error).message;
      }
    }
    const asOfView: { snapshot: SnapshotRow; rows: number | null; files: number } | undefined =
      asOf === undefined ? undefined : { snapshot: asOf.snapshot, rows: asOfRows, files: asOf.paths.length };
    return {
      info,
      partitions,
      schema,
      sample,
      error,
      doc: docs.get(`${layer}/${name}`),
      history,
      asOf: asOfView,
    };
  };

  return new Hono()
    .get("/lake", async () => {
      const o = await deps.overview.snapshot();
      return page("Lake", "lake", lakePage(o.lake.datasets, o.lake.uri));
    })
    .get("/lake/:layer/:dataset", async (c) => {
      const d = await dataset(c.req.param("layer"), c.req.param("dataset"), c.req.query("as_of"));
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
          history: d.history,
          asOf: d.asOf,
        }),
      );
    })
    .get("/api/lake", async (c) => c.json((await deps.overview.snapshot()).lake))
    .get("/api/lake/:layer/:dataset/history", async (c) => {
      const { layer, name } = await checked(c.req.param("layer"), c.req.param("dataset"));
      const limitText = c.req.query("limit") ?? "200";
      if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1)
        throw new HTTPException(400, {
          message: `limit ${JSON.stringify(limitText.slice(0, 20))} is not a whole number from 1 to 9999`,
        });
      const history = await deps.tables.history(layer, name, Number(limitText));
      if (history === undefined)
        throw new HTTPException(404, {
          message: `${layer}/${name} has no Iceberg table (it is read from its Hive tree only)`,
        });
      return c.json(history);
    })
    .get("/api/lake/:layer/:dataset", async (c) => {
      const d = await dataset(c.req.param("layer"), c.req.param("dataset"), c.req.query("as_of"));
      return c.json({
        dataset: d.info,
        partitions: d.partitions.slice(0, 1000),
        schema: d.schema ? { columns: d.schema.columns, rows: d.schema.rows } : null,
        sample: d.sample ? { columns: d.sample.columns, rows: d.sample.rows } : null,
        error: d.error,
        description: d.doc ? { summary: d.doc.summary, columns: Object.fromEntries(d.doc.columns) } : null,
        as_of: d.asOf ?? null,
      });
    });
}
