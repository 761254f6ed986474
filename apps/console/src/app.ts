/**
 * The console: one hono sub-app per feature (overview and health, jobs, lake, SQL, notebooks,
 * quality, sign-in), mounted behind the security layers every route shares — token, cross-site
 * check, body size limit, hono's secure headers with a strict CSP — and one error handler.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ConsoleDeps } from "./deps.ts";
import { healthRoutes } from "./health/routes.ts";
import { BodyError } from "./http.ts";
import { JobRequestError } from "./jobs/board.ts";
import { jobRoutes } from "./jobs/routes.ts";
import { PathError } from "./lake/paths.ts";
import { lakeRoutes } from "./lake/routes.ts";
import { BrowseError } from "./messages/reader.ts";
import { messageRoutes } from "./messages/routes.ts";
import { notebookRoutes } from "./notebooks/routes.ts";
import { qualityRoutes } from "./quality/routes.ts";
import { requireToken } from "./security/auth.ts";
import { sessionRoutes } from "./security/routes.ts";
import { QueryRefused } from "./sql/guard.ts";
import { sqlRoutes } from "./sql/routes.ts";
import { errorPage } from "./views/layout.ts";
import { type PageStatus, responder } from "./views/respond.ts";

export type { ConsoleDeps } from "./deps.ts";

/** Bodies larger than this are refused (the SQL box takes at most 20,000 characters). */
export const MAX_BODY_BYTES = 64 * 1024;

/** No inline script, no eval; frames only from the console itself (notebooks set their own sandbox). */
const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameSrc: ["'self'"],
    frameAncestors: ["'self'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: "SAMEORIGIN",
  referrerPolicy: "no-referrer",
  crossOriginEmbedderPolicy: false,
  overwrite: false,
});

export function createConsoleApp(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const app = new Hono();
  app.use("*", securityHeaders);
  app.use("*", async (c, next) => {
    await next();
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
  app.use("*", requireToken(deps.config.console.token));

  for (const routes of [
    sessionRoutes,
    healthRoutes,
    jobRoutes,
    lakeRoutes,
    messageRoutes,
    sqlRoutes,
    notebookRoutes,
    qualityRoutes,
  ]) {
    app.route("/", routes(deps));
  }

  const isApi = (path: string): boolean =>
    path.startsWith("/api/") || path === "/health" || path === "/metrics";
  app.notFound((c) => {
    if (isApi(c.req.path))
      return c.json({ error: `no route ${c.req.method} ${c.req.path.slice(0, 200)}` }, 404);
    return page("Not found", null, errorPage(404, `Nothing at ${c.req.path.slice(0, 200)}.`), 404);
  });
  app.onError((err, c) => {
    let status: PageStatus = 500;
    let message = "internal error (see the console's log)";
    if (
      err instanceof QueryRefused ||
      err instanceof JobRequestError ||
      err instanceof BodyError ||
      err instanceof PathError ||
      err instanceof BrowseError
    ) {
      status = 400;
      message = err.message;
    } else if (err instanceof HTTPException) {
      if (err.status === 403) return c.json({ error: "forbidden: cross-site request refused" }, 403);
      status = err.status === 404 ? 404 : err.status === 413 ? 413 : 400;
      message = err.message || "bad request";
    } else {
      deps.log.error("request failed", { path: c.req.path, error: err });
    }
    if (c.req.path === "/query" && c.req.method === "POST")
      return page("SQL", "query", errorPage(status, message), status);
    if (isApi(c.req.path) || c.req.method !== "GET") return c.json({ error: message }, status);
    return page("Error", null, errorPage(status, message), status);
  });
  return app;
}
