/**
 * The console's routes: server-rendered pages, the fragments live pages re-fetch, the JSON API
 * under /api (query results also as Arrow IPC), /metrics and /health. Security is layered in front
 * of every route: token, CSRF origin check, body size limit, security headers.
 */
import type { Config } from "@tributary/shared/config";
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";
import type { Logger } from "@tributary/shared/log";
import type { RunHistory } from "@tributary/shared/scheduler/history";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import type { OverviewService } from "./health/overview.ts";
import { type JobBoard, JobRequestError } from "./jobs/board.ts";
import type { LakeCatalog } from "./lake/catalog.ts";
import { checkSegment, PathError } from "./lake/paths.ts";
import { type QueryCounters, renderMetrics } from "./metrics.ts";
import type { NotebookGallery } from "./notebooks/gallery.ts";
import { qualityPanels } from "./quality/charts.ts";
import { requireToken, SESSION_COOKIE, sameSecret, sessionValue } from "./security/auth.ts";
import { ARROW_STREAM, resultToArrowIpc } from "./sql/arrow.ts";
import type { QueryEngine, QueryResult } from "./sql/engine.ts";
import { QueryRefused } from "./sql/guard.ts";
import { CONSOLE_CSS, CONSOLE_JS } from "./views/assets.ts";
import type { Html } from "./views/html.ts";
import {
  datasetPage,
  errorPage,
  healthBadge,
  jobsFragment,
  jobsPage,
  lakePage,
  layout,
  loginPage,
  notebookPage,
  notebooksPage,
  overviewFragment,
  overviewPage,
  qualityPage,
  queryPage,
  type Section,
} from "./views/pages.ts";

export interface ConsoleDeps {
  readonly config: Config;
  readonly catalog: LakeCatalog;
  /** Absent when the lake is on S3 (DuckDB's httpfs cannot be installed offline). */
  readonly engine: QueryEngine | undefined;
  readonly engineUnavailable?: string;
  readonly overview: OverviewService;
  readonly board: JobBoard;
  readonly history: RunHistory;
  readonly gallery: NotebookGallery;
  readonly queries: QueryCounters;
  readonly log: Logger;
}

/** Bodies larger than this are refused (the SQL box takes at most 20,000 characters). */
export const MAX_BODY_BYTES = 64 * 1024;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'";
const NOTEBOOK_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

export function createConsoleApp(deps: ConsoleDeps): Hono {
  const { config } = deps;
  const limits = { rowLimit: config.console.queryRowLimit, timeoutMs: config.console.queryTimeoutMs };
  const token = config.console.token;
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    if (!c.res.headers.has("Content-Security-Policy")) c.header("Content-Security-Policy", CSP);
    c.header("X-Frame-Options", "SAMEORIGIN");
    c.header("Cache-Control", "no-store");
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body larger than ${MAX_BODY_BYTES} bytes` }, 413),
    }),
  );
  app.use("*", csrf());
  app.use("*", requireToken(token));

  const page = async (
    title: string,
    section: Section | null,
    body: Html,
    status: 200 | 400 | 404 | 413 | 500 = 200,
  ): Promise<Response> => {
    const badge = section === null ? undefined : healthBadge(await deps.overview.snapshot());
    const text = layout({
      title,
      section,
      refreshMs: config.console.refreshMs,
      body,
      authed: token !== undefined,
      ...(badge ? { badge } : {}),
    });
    return new Response(text, { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
  };
  const fragment = (body: Html): Response =>
    new Response(body.value, { headers: { "Content-Type": "text/html; charset=utf-8" } });

  // ---- static, login ----
  app.get("/static/console.css", (c) =>
    c.body(CONSOLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }),
  );
  app.get("/static/console.js", (c) =>
    c.body(CONSOLE_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );
  app.get("/login", () => page("Sign in", null, loginPage()));
  app.post("/login", async (c) => {
    if (!token) return c.redirect("/", 303);
    const form = await c.req.parseBody();
    const given = typeof form.token === "string" ? form.token : "";
    if (!sameSecret(given, token)) return page("Sign in", null, loginPage("That token is not right."), 400);
    setCookie(c, SESSION_COOKIE, sessionValue(token), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
    });
    return c.redirect("/", 303);
  });
  app.post("/logout", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });

  // ---- health and metrics ----
  app.get("/health", async (c) => {
    const o = await deps.overview.snapshot();
    return c.json({ ok: o.ok, at: new Date(o.atMs).toISOString(), parts: o.parts }, o.ok ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const o = await deps.overview.snapshot();
    return c.body(renderMetrics(o, deps.history, deps.queries), 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  // ---- overview ----
  app.get("/", async () => page("Overview", "overview", overviewPage(await deps.overview.snapshot())));
  app.get("/partials/overview", async () => fragment(overviewFragment(await deps.overview.snapshot())));
  app.get("/partials/badge", async () => fragment(healthBadge(await deps.overview.snapshot())));
  app.get("/api/overview", async (c) => c.json(await deps.overview.snapshot()));
  app.get("/api/sources", async (c) => c.json((await deps.overview.snapshot()).sources));
  app.get("/api/kafka", async (c) => c.json((await deps.overview.snapshot()).kafka));

  // ---- jobs ----
  const jobFilter = (value: string | undefined): string | undefined => {
    if (value === undefined || value === "") return undefined;
    if (!/^[a-z0-9_.-]{1,200}$/.test(value))
      throw new HTTPException(400, { message: "job: expected a job name" });
    return value;
  };
  const runsLimit = (value: string | undefined): number => {
    if (value === undefined) return 100;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      throw new HTTPException(400, { message: "limit: expected 1 to 1000" });
    return n;
  };
  app.get("/jobs", (c) => {
    const job = jobFilter(c.req.query("job"));
    const requested = Number(c.req.query("requested"));
    const request = Number.isInteger(requested) ? deps.history.requestById(requested) : undefined;
    const summary = deps.board.summary();
    const message = request
      ? `${request.kind === "run" ? "Re-run" : "Backfill"} of ${request.job} requested (#${request.id}).${summary.jobs.find((j) => j.spec.name === request.job)?.owned ? " The scheduler that owns it picks it up within a second." : " No running scheduler owns this job yet: it runs when one starts."}`
      : undefined;
    const error = c.req.query("error");
    return page(
      "Jobs",
      "jobs",
      jobsPage({
        jobs: summary.jobs,
        runs: deps.board.runs({ ...(job ? { job } : {}), limit: 100 }),
        requests: deps.board.requests(10),
        ...(job ? { filter: job } : {}),
        ...(message ? { message } : {}),
        ...(error ? { error: error.slice(0, 300) } : {}),
      }),
    );
  });
  app.get("/partials/jobs", (c) => {
    const job = jobFilter(c.req.query("job"));
    return fragment(
      jobsFragment(deps.board.runs({ ...(job ? { job } : {}), limit: 100 }), deps.board.requests(10)),
    );
  });
  app.post("/jobs/:name/run", (c) => {
    try {
      const { id } = deps.board.requestRun(c.req.param("name"), "console");
      return c.redirect(`/jobs?requested=${id}`, 303);
    } catch (err) {
      if (err instanceof JobRequestError)
        return c.redirect(`/jobs?error=${encodeURIComponent(err.message)}`, 303);
      throw err;
    }
  });
  app.post("/jobs/:name/backfill", async (c) => {
    const form = await c.req.parseBody();
    try {
      const { id } = deps.board.requestBackfill(
        c.req.param("name"),
        String(form.from ?? ""),
        String(form.to ?? ""),
        "console",
      );
      return c.redirect(`/jobs?requested=${id}`, 303);
    } catch (err) {
      if (err instanceof JobRequestError)
        return c.redirect(`/jobs?error=${encodeURIComponent(err.message)}`, 303);
      throw err;
    }
  });
  app.get("/api/jobs", (c) => c.json(deps.board.summary()));
  app.get("/api/jobs/runs", (c) => {
    const job = jobFilter(c.req.query("job"));
    return c.json(deps.board.runs({ ...(job ? { job } : {}), limit: runsLimit(c.req.query("limit")) }));
  });
  app.get("/api/jobs/requests", (c) => c.json(deps.board.requests(runsLimit(c.req.query("limit")))));
  app.post("/api/jobs/:name/run", (c) => {
    const r = deps.board.requestRun(c.req.param("name"), "console-api");
    return c.json({ request: r.id, owned: r.owned }, 202);
  });
  app.post("/api/jobs/:name/backfill", async (c) => {
    const body = await jsonBody(c.req.raw);
    const r = deps.board.requestBackfill(
      c.req.param("name"),
      String(body.from ?? ""),
      String(body.to ?? ""),
      "console-api",
    );
    return c.json({ request: r.id, owned: r.owned, ranges: r.ranges }, 202);
  });

  // ---- lake browser ----
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
    const partitions = await deps.catalog.partitions(layer, name);
    let schema: QueryResult | null = null;
    let sample: QueryResult | null = null;
    let error: string | null = deps.engineUnavailable ?? null;
    if (deps.engine && info.files > 0) {
      const view = `"${layer}"."${name.replaceAll('"', '""')}"`;
      try {
        await deps.overview.snapshot(); // makes sure the view exists
        schema = await deps.engine.internal(`DESCRIBE ${view}`, {
          rowLimit: 500,
          timeoutMs: limits.timeoutMs,
        });
        sample = await deps.engine.internal(`SELECT * FROM ${view} LIMIT 20`, {
          rowLimit: 20,
          timeoutMs: limits.timeoutMs,
        });
      } catch (err) {
        error = (err as Error).message;
      }
    }
    return { info, partitions, schema, sample, error };
  };
  app.get("/lake", async () => {
    const o = await deps.overview.snapshot();
    return page("Lake", "lake", lakePage(o.lake.datasets, o.lake.uri));
  });
  app.get("/lake/:layer/:dataset", async (c) => {
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
      }),
    );
  });
  app.get("/api/lake", async (c) => c.json((await deps.overview.snapshot()).lake));
  app.get("/api/lake/:layer/:dataset", async (c) => {
    const d = await dataset(c.req.param("layer"), c.req.param("dataset"));
    return c.json({
      dataset: d.info,
      partitions: d.partitions.slice(0, 1000),
      schema: d.schema ? { columns: d.schema.columns, rows: d.schema.rows } : null,
      sample: d.sample ? { columns: d.sample.columns, rows: d.sample.rows } : null,
      error: d.error,
    });
  });

  // ---- SQL ----
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
  app.get("/query", (c) => {
    const sql = (c.req.query("sql") ?? "").slice(0, 20_000);
    return page(
      "SQL",
      "query",
      queryPage({
        sql,
        views: deps.engine?.viewNames() ?? [],
        ...limits,
        ...(deps.engineUnavailable ? { unavailable: deps.engineUnavailable } : {}),
      }),
    );
  });
  app.post("/query", async (c) => {
    const form = await c.req.parseBody();
    const sql = typeof form.sql === "string" ? form.sql : "";
    try {
      const result = await runQuery(sql);
      return page(
        "SQL",
        "query",
        queryPage({ sql, views: deps.engine?.viewNames() ?? [], result, ...limits }),
      );
    } catch (err) {
      if (!(err instanceof QueryRefused)) throw err;
      return page(
        "SQL",
        "query",
        queryPage({ sql, views: deps.engine?.viewNames() ?? [], error: err.message, ...limits }),
        400,
      );
    }
  });
  app.post("/api/query", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (typeof body.sql !== "string")
      throw new QueryRefused('send {"sql": "SELECT …"} with the query as a string', "parse");
    const result = await runQuery(body.sql);
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
  });
  app.get("/api/views", (c) => c.json(deps.engine?.viewNames() ?? []));

  // ---- notebooks ----
  app.get("/notebooks", () =>
    page("Notebooks", "notebooks", notebooksPage(deps.gallery.list(), deps.gallery.dir)),
  );
  app.get("/api/notebooks", (c) => c.json(deps.gallery.list()));
  app.get("/notebooks/files/:file", (c) => {
    const file = deps.gallery.read(c.req.param("file"));
    return new Response(file.body, {
      headers: { "Content-Type": file.type, "Content-Security-Policy": NOTEBOOK_CSP },
    });
  });
  app.get("/notebooks/:name", (c) => {
    const entry = deps.gallery.list().find((e) => e.name === c.req.param("name") && e.html);
    if (!entry)
      throw new HTTPException(404, {
        message: `no rendered notebook named ${c.req.param("name").slice(0, 80)}`,
      });
    return page(entry.name, "notebooks", notebookPage(entry));
  });

  // ---- data quality ----
  const panels = async () => {
    const o = await deps.overview.snapshot();
    return deps.engine ? qualityPanels(deps.engine, o.lake.datasets, limits) : [];
  };
  app.get("/quality", async () =>
    page("Data quality", "quality", qualityPage(await panels(), deps.engineUnavailable)),
  );
  app.get("/api/quality", async (c) => c.json(await panels()));

  // ---- errors ----
  const isApi = (path: string): boolean =>
    path.startsWith("/api/") || path === "/health" || path === "/metrics";
  app.notFound((c) => {
    if (isApi(c.req.path))
      return c.json({ error: `no route ${c.req.method} ${c.req.path.slice(0, 200)}` }, 404);
    return page("Not found", null, errorPage(404, `Nothing at ${c.req.path.slice(0, 200)}.`), 404);
  });
  app.onError((err, c) => {
    let status: 400 | 404 | 413 | 500 = 500;
    let message = "internal error (see the console's log)";
    if (err instanceof QueryRefused || err instanceof JobRequestError || err instanceof BodyError) {
      status = 400;
      message = err.message;
    } else if (err instanceof PathError) {
      status = 400;
      message = err.message;
    } else if (err instanceof HTTPException) {
      status = err.status === 404 ? 404 : err.status === 413 ? 413 : 400;
      message = err.message || "bad request";
      if (err.status === 403) return c.json({ error: "forbidden: cross-site request refused" }, 403);
    } else {
      deps.log.error("request failed", { path: c.req.path, error: err });
    }
    if (isApi(c.req.path) || c.req.method !== "GET") {
      if (c.req.path === "/query" && c.req.method === "POST")
        return page("SQL", "query", errorPage(status, message), status);
      return c.json({ error: message }, status);
    }
    return page("Error", null, errorPage(status, message), status);
  });
  return app;
}

class BodyError extends Error {
  override readonly name = "BodyError";
}

/** A JSON object body, or a 400 naming what was wrong. */
async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.includes("application/json"))
    throw new BodyError("send the body as JSON (Content-Type: application/json)");
  let parsed: unknown;
  try {
    parsed = await req.json();
  } catch {
    throw new BodyError("the body is not valid JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new BodyError("the body must be a JSON object");
  return parsed as Record<string, unknown>;
}
