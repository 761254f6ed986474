/** The notebook gallery, one notebook's page, and its files served sandboxed. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ConsoleDeps } from "../deps.ts";
import { responder } from "../views/respond.ts";
import { notebookPage, notebooksPage } from "./pages.ts";

/**
 * Rendered notebooks run in a sandbox with an opaque origin (no cookies, no same-origin access, no
 * network but the chart runtime served beside them): their only script is `tributary-charts.js`,
 * whose Vega expressions need eval, which stays inside that sandbox.
 */
export const NOTEBOOK_CSP =
  "sandbox allow-scripts; default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:";

export function notebookRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  return new Hono()
    .get("/notebooks", () =>
      page("Notebooks", "notebooks", notebooksPage(deps.gallery.list(), deps.gallery.dir)),
    )
    .get("/api/notebooks", (c) => c.json(deps.gallery.list()))
    .get("/notebooks/files/:file", (c) => {
      const file = deps.gallery.read(c.req.param("file"));
      return new Response(file.body, {
        headers: {
          "Content-Type": file.type,
          "Content-Security-Policy": NOTEBOOK_CSP,
          // The sandboxed frame's origin is opaque: its script load is cross-origin.
          "Cross-Origin-Resource-Policy": "cross-origin",
        },
      });
    })
    .get("/notebooks/:name", (c) => {
      const entry = deps.gallery.list().find((e) => e.name === c.req.param("name") && e.html);
      if (!entry)
        throw new HTTPException(404, {
          message: `no rendered notebook named ${c.req.param("name").slice(0, 80)}`,
        });
      return page(entry.name, "notebooks", notebookPage(entry));
    });
}
