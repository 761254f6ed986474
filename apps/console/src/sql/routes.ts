/** The SQL box (page, form and download) and the query API, answering JSON, Arrow IPC, CSV or Parquet. */
import { tmpdir } from "node:os";
import { Hono } from "hono";
import { type ConsoleDeps, queryLimits } from "../deps.ts";
import { jsonObject } from "../http.ts";
import { responder } from "../views/respond.ts";
import { ARROW_STREAM, resultToArrowIpc } from "./arrow.ts";
import {
  acceptedDownload,
  DOWNLOAD_FORMATS,
  type DownloadFormat,
  downloadName,
  isDownloadFormat,
  resultToCsv,
  resultToParquet,
} from "./download.ts";
import type { QueryResult } from "./engine.ts";
import { QueryRefused } from "./guard.ts";
import { queryPage } from "./pages.ts";

export function sqlRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const limits = queryLimits(deps.config);
  const views = (): string[] => deps.engine?.viewNames() ?? [];

  const runQuery = async (sql: string): Promise<QueryResult> => {
    if (!deps.engine)
      throw new QueryRefused(deps.engineUnavailable ?? "the SQL box is unavailable", "unavailable");
    await deps.overview.snapshot(); // views follow the lake
    try {
      const result = await deps.engine.query(sql, limits);
      deps.queries.recordOk();
      return result;
    } catch (err) {
      if (err instanceof QueryRefused) deps.queries.recordRefused(err.rule);
      throw err;
    }
  };

  /** The result as a file, named for when it was asked; `X-Truncated` says whether rows were cut. */
  const download = async (result: QueryResult, format: DownloadFormat): Promise<Response> => {
    const body =
      format === "csv"
        ? resultToCsv(result)
        : await resultToParquet(result, deps.engine?.spillDir ?? tmpdir());
    return new Response(body, {
      headers: {
        "Content-Type": DOWNLOAD_FORMATS[format],
        "Content-Disposition": `attachment; filename="${downloadName(format)}"`,
        "X-Truncated": String(result.truncated),
      },
    });
  };

  return new Hono()
    .get("/query", (c) => {
      const sql = (c.req.query("sql") ?? "").slice(0, 20_000);
      return page(
        "SQL",
        "query",
        queryPage({
          sql,
          views: views(),
          ...limits,
          ...(deps.engineUnavailable ? { unavailable: deps.engineUnavailable } : {}),
        }),
      );
    })
    .post("/query", async (c) => {
      const form = await c.req.parseBody();
      const sql = typeof form.sql === "string" ? form.sql : "";
      try {
        const result = await runQuery(sql);
        return page("SQL", "query", queryPage({ sql, views: views(), result, ...limits }));
      } catch (err) {
        if (!(err instanceof QueryRefused)) throw err;
        return page("SQL", "query", queryPage({ sql, views: views(), error: err.message, ...limits }), 400);
      }
    })
    .post("/query/download", async (c) => {
      const form = await c.req.parseBody();
      const sql = typeof form.sql === "string" ? form.sql : "";
      const format = typeof form.format === "string" ? form.format : "";
      if (!isDownloadFormat(format))
        throw new QueryRefused(`format: expected ${Object.keys(DOWNLOAD_FORMATS).join(" or ")}`, "parse");
      try {
        return await download(await runQuery(sql), format);
      } catch (err) {
        if (!(err instanceof QueryRefused)) throw err;
        return page("SQL", "query", queryPage({ sql, views: views(), error: err.message, ...limits }), 400);
      }
    })
    .post("/api/query", jsonObject, async (c) => {
      const body = c.req.valid("json");
      if (typeof body.sql !== "string")
        throw new QueryRefused('send {"sql": "SELECT …"} with the query as a string', "parse");
      const result = await runQuery(body.sql);
      const file = acceptedDownload(c.req.header("accept") ?? "");
      if (file) return download(result, file);
      if ((c.req.header("accept") ?? "").includes(ARROW_STREAM)) {
        return new Response(resultToArrowIpc(result), {
          headers: { "Content-Type": ARROW_STREAM, "X-Truncated": String(result.truncated) },
        });
      }
      return c.json({
        columns: result.columns,
        rows: result.rows,
        truncated: result.truncated,
        elapsed_ms: result.elapsedMs,
      });
    })
    .get("/api/views", (c) => c.json(views()));
}
