/** The page frame every console page shares (navigation, live health badge), the sign-in and error pages. */
import { type Html, html } from "./html.ts";

export type Section = "overview" | "jobs" | "lake" | "messages" | "query" | "notebooks" | "quality";

const NAV: readonly [Section, string, string][] = [
  ["overview", "/", "Overview"],
  ["jobs", "/jobs", "Jobs"],
  ["lake", "/lake", "Lake"],
  ["messages", "/messages", "Messages"],
  ["query", "/query", "SQL"],
  ["notebooks", "/notebooks", "Notebooks"],
  ["quality", "/quality", "Data quality"],
];

export function layout(options: {
  title: string;
  section: Section | null;
  refreshMs: number;
  body: Html;
  authed?: boolean;
  badge?: Html;
}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Tributary</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body data-refresh="${options.refreshMs}">
<header>
<a class="brand" href="/">Tributary</a>
<nav>${NAV.map(([s, href, label]) => html`<a href="${href}" class="${s === options.section ? "active" : ""}">${label}</a>`)}</nav>
<span id="health-badge" data-live="/partials/badge">${options.badge ?? ""}</span>
<span id="live-status" class="live muted"></span>
${options.authed ? html`<form class="inline" method="post" action="/logout"><button class="secondary" type="submit">Log out</button></form>` : ""}
</header>
<main>
${options.body}
</main>
</body>
</html>`.toString();
}

export function loginPage(error?: string): Html {
  return html`<h1>Sign in</h1><section class="card">
  <p>This console is protected by a token (CONSOLE_TOKEN).</p>
  ${error ? html`<p class="error">${error}</p>` : ""}
  <form method="post" action="/login"><input type="password" name="token" placeholder="token" autocomplete="current-password" required> <button type="submit">Sign in</button></form></section>`;
}

export function errorPage(status: number, message: string): Html {
  return html`<h1>${status === 404 ? "Not found" : status === 400 ? "Refused" : "Error"}</h1><p class="error">${message}</p>`;
}
