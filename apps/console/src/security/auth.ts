/**
 * Who may use the console. It binds 127.0.0.1 by default; bound anywhere else it must have a token
 * (CONSOLE_TOKEN), and then every request but the login form carries it: `Authorization: Bearer
 * <token>` for scripts, or the session cookie the login form sets for browsers (an HMAC of the
 * token, HttpOnly, SameSite=Strict). Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";

export const SESSION_COOKIE = "tributary_console";

export class BindError extends Error {
  override readonly name = "BindError";
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Refuses to serve a non-loopback address without a token. */
export function checkBind(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new BindError(
      `CONSOLE_HOST=${host} is reachable from other machines, so CONSOLE_TOKEN must be set (a long random string); or bind 127.0.0.1`,
    );
  }
  if (token !== undefined && token.length < 16) {
    throw new BindError("CONSOLE_TOKEN must be at least 16 characters long");
  }
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The cookie value for a token: proves the token without carrying it. */
export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("tributary-console-session-v1").digest("base64url");
}

const PUBLIC = new Set(["/login", "/static/console.css"]);

export function requireToken(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!token || PUBLIC.has(c.req.path)) return next();
    const header = c.req.header("authorization");
    const bearer = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    const cookie = getCookie(c, SESSION_COOKIE);
    if ((bearer && sameSecret(bearer, token)) || (cookie && sameSecret(cookie, sessionValue(token))))
      return next();
    const wantsHtml = (c.req.header("accept") ?? "").includes("text/html") && c.req.method === "GET";
    if (wantsHtml && !c.req.path.startsWith("/api/") && !c.req.path.startsWith("/partials/"))
      return c.redirect("/login", 303);
    c.header("WWW-Authenticate", 'Bearer realm="tributary-console"');
    return c.json(
      { error: "authentication required: send Authorization: Bearer <CONSOLE_TOKEN> or sign in at /login" },
      401,
    );
  };
}
