/**
 * Server-side HTML with hono's `html` tag (every interpolation escaped, nested `html` and arrays of
 * it passed through) and `raw` for trusted markup such as generated SVG. The console's templates
 * never interpolate promises, so a template is a string at once.
 */
import { html as honoHtml, raw as honoRaw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

export type Html = HtmlEscapedString;

export const html = honoHtml as (strings: TemplateStringsArray, ...values: unknown[]) => Html;

/** Trusted markup (generated SVG): never pass user input here. */
export const raw = (markup: string): Html => honoRaw(markup);

/** `text` with `& < > " '` escaped, as a plain string (for attributes built outside a template). */
export function escapeHtml(text: string): string {
  return html`${text}`.toString();
}
