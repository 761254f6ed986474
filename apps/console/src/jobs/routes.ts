/** The jobs page, its live fragment, the Re-run and Backfill buttons and the jobs API. */

import {
  parseStatuses,
  RUN_TRIGGERS,
  type RunFilter,
  type RunTrigger,
} from "@tributary/shared/scheduler/history";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ConsoleDeps } from "../deps.ts";
import { intParam, jobName, jsonObject } from "../http.ts";
import { errorPage } from "../views/layout.ts";
import { responder } from "../views/respond.ts";
import { JobRequestError } from "./board.ts";
import { type HistoryQuery, jobsFragment, jobsPage, runPage } from "./pages.ts";

/** Runs a history page shows. */
const PAGE_SIZE = 50;

/** The history filter and page from a query string; anything invalid is a 400 naming it. */
function historyQuery(query: (name: string) => string | undefined): HistoryQuery {
  const job = jobName(query("job"));
  const status = query("status") || undefined;
  const trigger = query("trigger") || undefined;
  const before = query("before")
    ? intParam("before", query("before"), 1, Number.MAX_SAFE_INTEGER, 0)
    : undefined;
  if (status) toFilter({ status });
  if (trigger && !(RUN_TRIGGERS as readonly string[]).includes(trigger))
    throw new HTTPException(400, { message: `trigger: expected one of ${RUN_TRIGGERS.join(", ")}` });
  return {
    ...(job ? { job } : {}),
    ...(status ? { status } : {}),
    ...(trigger ? { trigger } : {}),
    ...(before ? { before } : {}),
  };
}

function toFilter(q: HistoryQuery): RunFilter {
  let statuses: ReturnType<typeof parseStatuses> | undefined;
  try {
    statuses = q.status ? parseStatuses(q.status) : undefined;
  } catch (err) {
    throw new HTTPException(400, { message: `status: ${(err as Error).message}` });
  }
  return {
    ...(q.job ? { job: q.job } : {}),
    ...(statuses ? { statuses } : {}),
    ...(q.trigger ? { trigger: q.trigger as RunTrigger } : {}),
  };
}

export function jobRoutes(deps: ConsoleDeps): Hono {
  const { page, fragment } = responder(deps);
  const { board, history } = deps;
  /** A form button's outcome: back to the jobs page with the request or the refusal. */
  const afterRequest = (make: () => { id: number }): string => {
    try {
      return `/jobs?requested=${make().id}`;
    } catch (err) {
      if (err instanceof JobRequestError) return `/jobs?error=${encodeURIComponent(err.message)}`;
      throw err;
    }
  };
  return new Hono()
    .get("/jobs", (c) => {
      const query = historyQuery((n) => c.req.query(n));
      const requested = Number(c.req.query("requested"));
      const request = Number.isInteger(requested) ? history.requests.get(requested) : undefined;
      const summary = board.summary();
      const owned = summary.jobs.find((j) => j.spec.name === request?.job)?.owned;
      const message = request
        ? `${request.kind === "run" ? "Re-run" : "Backfill"} of ${request.job} requested (#${request.id}).${owned ? " The scheduler that owns it picks it up within a second." : " No running scheduler owns this job yet: it runs when one starts."}`
        : undefined;
      const error = c.req.query("error");
      return page(
        "Jobs",
        "jobs",
        jobsPage({
          jobs: summary.jobs,
          page: board.page(toFilter(query), PAGE_SIZE, query.before),
          requests: board.requests(10),
          query,
          ...(message ? { message } : {}),
          ...(error ? { error: error.slice(0, 300) } : {}),
        }),
      );
    })
    .get("/partials/jobs", (c) => {
      const query = historyQuery((n) => c.req.query(n));
      return fragment(
        jobsFragment(board.page(toFilter(query), PAGE_SIZE, query.before), board.requests(10), query),
      );
    })
    .get("/jobs/runs/:id", (c) => {
      const id = intParam("run", c.req.param("id"), 1, Number.MAX_SAFE_INTEGER, 0);
      const found = board.run(id);
      if (!found)
        return page(
          "Run",
          "jobs",
          errorPage(404, `No run ${id} in the history (pruned after SCHEDULER_HISTORY_DAYS).`),
          404,
        );
      return page(`Run ${id}`, "jobs", runPage(found.run, found.logs));
    })
    .post("/jobs/:name/run", (c) =>
      c.redirect(
        afterRequest(() => board.requestRun(c.req.param("name"), "console")),
        303,
      ),
    )
    .post("/jobs/:name/backfill", async (c) => {
      const form = await c.req.parseBody();
      return c.redirect(
        afterRequest(() =>
          board.requestBackfill(
            c.req.param("name"),
            String(form.from ?? ""),
            String(form.to ?? ""),
            "console",
          ),
        ),
        303,
      );
    })
    .get("/api/jobs", (c) => c.json(board.summary()))
    .get("/api/jobs/runs", (c) => {
      const query = historyQuery((n) => c.req.query(n));
      return c.json(
        board.page(toFilter(query), intParam("limit", c.req.query("limit"), 1, 1000, 100), query.before),
      );
    })
    .get("/api/jobs/runs/:id", (c) => {
      const id = intParam("run", c.req.param("id"), 1, Number.MAX_SAFE_INTEGER, 0);
      const found = board.run(id);
      if (!found) return c.json({ error: `no run ${id}` }, 404);
      return c.json(found);
    })
    .get("/api/jobs/requests", (c) =>
      c.json(board.requests(intParam("limit", c.req.query("limit"), 1, 1000, 100))),
    )
    .post("/api/jobs/:name/run", (c) => {
      const r = board.requestRun(c.req.param("name"), "console-api");
      return c.json({ request: r.id, owned: r.owned }, 202);
    })
    .post("/api/jobs/:name/backfill", jsonObject, (c) => {
      const body = c.req.valid("json");
      const r = board.requestBackfill(
        c.req.param("name"),
        String(body.from ?? ""),
        String(body.to ?? ""),
        "console-api",
      );
      return c.json({ request: r.id, owned: r.owned, ranges: r.ranges }, 202);
    });
}
