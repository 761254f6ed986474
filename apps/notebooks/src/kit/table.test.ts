import { describe, expect, test } from "bun:test";
import { display, JUPYTER_DISPLAY, md, toBundle } from "./display.ts";
import { tableBundle, tableBundleFromRows } from "./table.ts";

const rows = Array.from({ length: 50 }, (_, i) => ({
  id: BigInt(i),
  price: `${i}.5000000000`,
  side: i % 2 ? "buy" : "sell",
}));

describe("table bundles", () => {
  test("long tables keep head and tail and say how many rows are hidden", () => {
    const bundle = tableBundle(["id", "price", "side"], rows, { maxRows: 6 });
    const html = String(bundle["text/html"]);
    expect((html.match(/<tr>/g) ?? []).length).toBe(1 + 6); // header + 3 head + 3 tail
    expect(html).toContain("… 44 more rows …");
    expect(html).toContain(">0.5000000000<");
    expect(html).toContain(">49.5000000000<");
    expect(html).not.toContain(">10.5000000000<");
    expect(html).toContain("50 rows × 3 columns");
    const text = String(bundle["text/plain"]);
    expect(text).toContain("… 44 more rows …");
    expect(text.split("\n")[0]).toMatch(/^id\s+price\s+side$/);
  });

  test("short tables are shown whole", () => {
    const html = String(tableBundleFromRows(rows.slice(0, 3))["text/html"]);
    expect(html).not.toContain("more rows");
    expect((html.match(/<tr>/g) ?? []).length).toBe(4);
  });

  test("numbers and decimal strings are right-aligned, nulls marked, HTML escaped", () => {
    const html = String(tableBundleFromRows([{ a: "1.25", b: null, c: "<b>x</b>" }])["text/html"]);
    expect(html).toContain('<td class="num" style="text-align:right">1.25</td>');
    expect(html).toContain('class="null"');
    expect(html).toContain("&#60;b&#62;x&#60;/b&#62;");
    expect(html).not.toContain("<b>x</b>");
  });

  test("long cell text is cut", () => {
    const text = String(tableBundleFromRows([{ a: "x".repeat(200) }], { maxCellChars: 10 })["text/plain"]);
    expect(text).toContain(`${"x".repeat(9)}…`);
  });
});

describe("display", () => {
  test("objects implementing Symbol.for('Jupyter.display') provide their own bundle", () => {
    const custom = {
      [Symbol.for("Jupyter.display")]: () => ({ "text/html": "<i>hi</i>", "text/plain": "hi" }),
    };
    expect(toBundle(custom)).toEqual({ "text/html": "<i>hi</i>", "text/plain": "hi" });
    expect(JUPYTER_DISPLAY as symbol).toBe(Symbol.for("Jupyter.display"));
  });

  test("arrays of records become tables; other values their inspected text", () => {
    expect(toBundle([{ a: 1 }])["text/html"]).toContain("<table");
    expect(toBundle({ a: 1n })["text/plain"]).toContain("1n");
    expect(toBundle("plain")).toEqual({ "text/plain": "plain" });
  });

  test("md builds a markdown bundle from a template", () => {
    expect(toBundle(md`**${2}** rows`)).toEqual({
      "text/markdown": "**2** rows",
      "text/plain": "**2** rows",
    });
  });

  test("a Promise from Jupyter.display is refused with a clear message", () => {
    const bad = { [Symbol.for("Jupyter.display")]: async () => ({}) };
    expect(() => display(bad)).toThrow(/await the value/);
  });
});
