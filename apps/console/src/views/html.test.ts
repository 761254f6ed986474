import { describe, expect, test } from "bun:test";
import { html } from "./html.ts";

describe("server-side HTML", () => {
  test("interpolations are escaped; nested html passes through", () => {
    const name = `<script>alert("x")</script>`;
    expect(html`<p>${name}</p>${html`<b>ok</b>`}`.toString()).toBe(
      "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p><b>ok</b>",
    );
  });
});
