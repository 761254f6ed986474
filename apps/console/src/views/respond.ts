/** Whole pages (in the layout, with the live health badge) and the fragments live pages re-fetch. */
import type { ConsoleDeps } from "../deps.ts";
import { healthBadge } from "../health/pages.ts";
import type { Html } from "./html.ts";
import { layout, type Section } from "./layout.ts";

export type PageStatus = 200 | 400 | 404 | 413 | 500;

export interface Responder {
  page(title: string, section: Section | null, body: Html, status?: PageStatus): Promise<Response>;
  fragment(body: Html): Response;
}

const HTML = { "Content-Type": "text/html; charset=utf-8" };

export function responder(deps: Pick<ConsoleDeps, "config" | "overview">): Responder {
  return {
    async page(title, section, body, status = 200) {
      const badge = section === null ? undefined : healthBadge(await deps.overview.snapshot());
      const text = layout({
        title,
        section,
        refreshMs: deps.config.console.refreshMs,
        body,
        authed: deps.config.console.token !== undefined,
        ...(badge ? { badge } : {}),
      });
      return new Response(text, { status, headers: HTML });
    },
    fragment: (body) => new Response(body.toString(), { headers: HTML }),
  };
}
