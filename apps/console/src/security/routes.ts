/** Sign-in and sign-out (the session cookie is an HMAC of the token), and the static assets. */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { ConsoleDeps } from "../deps.ts";
import { CONSOLE_CSS, CONSOLE_JS } from "../views/assets.ts";
import { loginPage } from "../views/layout.ts";
import { responder } from "../views/respond.ts";
import { SESSION_COOKIE, sameSecret, sessionValue } from "./auth.ts";

export function sessionRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const token = deps.config.console.token;
  return new Hono()
    .get("/static/console.css", (c) =>
      c.body(CONSOLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }),
    )
    .get("/static/console.js", (c) =>
      c.body(CONSOLE_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
    )
    .get("/login", () => page("Sign in", null, loginPage()))
    .post("/login", async (c) => {
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
    })
    .post("/logout", (c) => {
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.redirect("/login", 303);
    });
}
