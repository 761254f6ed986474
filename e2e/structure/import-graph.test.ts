import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { cyclesOf, exportTarget, type ImportEdge, importsOf, readImportGraph } from "./import-graph.ts";

const ROOT = resolve(import.meta.dir, "../..");
const graph = readImportGraph(ROOT);
const BUILTIN = /^(node:|bun$|bun:)/;
const rootDevDependencies = new Set(
  Object.keys(
    (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies?: object })
      .devDependencies ?? {},
  ),
);
const show = (e: ImportEdge): string =>
  `${e.from} imports ${e.specifier}${e.unresolved ? ` (${e.unresolved})` : ""}`;

describe("the reader of the graph", () => {
  test("finds static, type-only, side-effect and dynamic imports, and no import inside a statement's text", () => {
    const source = [
      'import { a, type B } from "./a.ts";',
      'import type { C } from "@tributary/shared/c";',
      "import {\n  d,\n  e,\n} from 'kafkajs';",
      'import "./side.ts";',
      'export { f } from "./f.ts";',
      // Split so that this file's own text holds no dynamic import of a missing module.
      `const sql = "SELECT x FROM y"; const g = await ${"imp"}ort("./g.ts");`,
    ].join("\n");
    expect(importsOf(source)).toEqual([
      { specifier: "./a.ts", typeOnly: false },
      { specifier: "@tributary/shared/c", typeOnly: true },
      { specifier: "kafkajs", typeOnly: false },
      { specifier: "./f.ts", typeOnly: false },
      { specifier: "./side.ts", typeOnly: false },
      { specifier: "./g.ts", typeOnly: false },
    ]);
  });

  test("resolves exports by exact key and by pattern, and refuses a subpath not exported", () => {
    const pkg = {
      name: "@x/y",
      dir: "y",
      dependencies: new Set<string>(),
      exports: new Map([
        ["./stack", "./src/stack.ts"],
        ["./lib/*", "./src/lib/*.ts"],
      ]),
    };
    expect(exportTarget(pkg, "./stack")).toBe("./src/stack.ts");
    expect(exportTarget(pkg, "./lib/a/b")).toBe("./src/lib/a/b.ts");
    expect(exportTarget(pkg, "./src/stack")).toBeUndefined();
  });

  test("finds a cycle and only the cycle", () => {
    const next: Record<string, string[]> = { a: ["b"], b: ["c"], c: ["a"], d: ["a"], e: ["e"] };
    expect(cyclesOf(Object.keys(next), (n) => next[n] ?? [])).toEqual([["a", "b", "c"], ["e"]]);
  });

  test("reads every workspace package and its modules", () => {
    const names = graph.packages.map((p) => p.name);
    for (const name of [
      "@tributary/shared",
      "@tributary/lake",
      "@tributary/jobs",
      "@tributary/e2e",
      "@tributary/bench",
    ])
      expect(names).toContain(name);
    expect(graph.modules).toContain("apps/lake/src/runtime/duckdb.ts");
    expect(graph.edges.length).toBeGreaterThan(500);
  });
});

describe("imports between workspaces", () => {
  test("no relative import leaves its package, and each resolves to a file", () => {
    const bad = graph.edges.filter(
      (e) =>
        e.specifier.startsWith(".") &&
        (e.to === undefined || graph.packageOf(e.to)?.name !== graph.packageOf(e.from)?.name),
    );
    expect(bad.map(show)).toEqual([]);
  });

  test("a workspace is imported only through a declared dependency and a subpath it exports", () => {
    const bad = graph.edges.filter((e) => {
      if (!e.specifier.startsWith("@tributary/")) return false;
      const own = graph.packageOf(e.from);
      const name = e.specifier.split("/").slice(0, 2).join("/");
      // Notebooks are documents written as any user writes them: they import the kit by package name.
      if (
        own?.name === name &&
        e.to !== undefined &&
        /(^|\/)apps\/notebooks\/notebooks\/[^/]+\.ts$/.test(e.from)
      )
        return false;
      return e.to === undefined || own === undefined || own.name === name || !own.dependencies.has(name);
    });
    expect(bad.map(show)).toEqual([]);
  });

  test("every third-party import is declared by the package that makes it", () => {
    const bad = graph.edges.filter((e) => {
      if (e.specifier.startsWith(".") || e.specifier.startsWith("@tributary/") || BUILTIN.test(e.specifier))
        return false;
      const name = e.specifier.startsWith("@")
        ? e.specifier.split("/").slice(0, 2).join("/")
        : (e.specifier.split("/")[0] as string);
      const declared = graph.packageOf(e.from)?.dependencies;
      // A type-only import may be declared by its DefinitelyTyped package alone.
      const types = `@types/${name.replace(/^@/, "").replace("/", "__")}`;
      return !(declared?.has(name) || (e.typeOnly && declared?.has(types)) || rootDevDependencies.has(name));
    });
    expect(bad.map(show)).toEqual([]);
  });

  test("the workspace dependency graph, declared and imported, has no cycle", () => {
    const names = graph.packages.map((p) => p.name);
    const declared = (n: string): string[] =>
      [...(graph.packages.find((p) => p.name === n)?.dependencies ?? [])].filter((d) => names.includes(d));
    expect(cyclesOf(names, declared)).toEqual([]);
    const imported = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
    for (const e of graph.edges) {
      const from = graph.packageOf(e.from)?.name;
      const to = e.to === undefined ? undefined : graph.packageOf(e.to)?.name;
      if (from && to && from !== to) imported.get(from)?.add(to);
    }
    expect(cyclesOf(names, (n) => [...(imported.get(n) ?? [])])).toEqual([]);
  });
});

describe("imports between modules", () => {
  test("no module imports itself back through others (type-only imports aside)", () => {
    const next = new Map<string, string[]>();
    for (const e of graph.edges) {
      if (e.typeOnly || e.to === undefined) continue;
      next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    }
    expect(cyclesOf(graph.modules, (m) => next.get(m) ?? [])).toEqual([]);
  });
});

describe("the lake's layers", () => {
  const LAKE = "apps/lake/src/";
  /** What a layer may import from outside its own folder (besides shared and third parties). */
  const allowed: Record<string, (target: string) => boolean> = {
    runtime: () => false,
    bronze: (t) => t.startsWith("runtime/"),
    silver: (t) => t.startsWith("runtime/"),
    gold: (t) => t.startsWith("runtime/") || t === "silver/datasets.ts" || t === "silver/cdc/tables.ts",
    export: (t) => t.startsWith("runtime/") || t === "silver/datasets.ts" || t === "gold/datasets.ts",
  };

  // Tests still build silver and gold by running other layers' jobs; the lake fixture will take that over.
  test("a layer's modules import the runtime and only the public datasets modules of another layer", () => {
    const bad = graph.edges.filter((e) => {
      if (!e.from.startsWith(LAKE) || e.to === undefined || !e.to.startsWith(LAKE)) return false;
      const [layer] = e.from.slice(LAKE.length).split("/");
      const target = e.to.slice(LAKE.length);
      const rule = allowed[layer as string];
      if (rule === undefined || target.startsWith(`${layer}/`)) return false;
      return !rule(target) && !e.from.endsWith(".test.ts");
    });
    expect(bad.map(show)).toEqual([]);
  });
});

describe("module size", () => {
  test("a module over 400 lines says why at its top: `(Over N lines: …)` in its first comment", () => {
    const unexplained = graph.modules
      // Notebooks are documents, not modules: percent format turns any text before the first cell
      // marker into a code cell, so they cannot carry the header, and their length is the report's.
      .filter((m) => !m.endsWith(".test.ts") && !m.startsWith("apps/notebooks/notebooks/"))
      .map((m) => ({ m, text: readFileSync(join(ROOT, m), "utf8") }))
      .filter(
        ({ text }) => text.split("\n").length - 1 > 400 && !/^\/\*\*\n \* \(Over \d+ lines: /.test(text),
      )
      .map(({ m }) => m);
    expect(unexplained).toEqual([]);
  });
});

describe("docs/architecture.md", () => {
  test("its source tree names every source folder", () => {
    const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
    const start = doc.indexOf("```\nshared/src/");
    const tree = doc.slice(start, doc.indexOf("```\n", start + 4));
    // Rebuild each line's full path from its indentation (two spaces a level, paths may hold several segments).
    const listed = new Set<string>();
    const stack: string[] = [];
    for (const line of tree.split("\n").slice(1)) {
      const m = /^( *)(\S+\/)/.exec(line);
      if (!m) continue;
      const depth = (m[1] ?? "").length / 2;
      stack.length = depth;
      stack.push(m[2] ?? "");
      const path = stack.join("").replace(/\/$/, "");
      for (let p = path; p.includes("/"); p = p.slice(0, p.lastIndexOf("/"))) listed.add(p);
      listed.add(path);
    }
    const folders = [...new Set(graph.modules.map((m) => m.slice(0, m.lastIndexOf("/"))))].filter(
      (d) => !d.includes("node_modules"),
    );
    expect(folders.filter((d) => !listed.has(d) && !listed.has(d.replace(/\/src$/, ""))).sort()).toEqual([]);
  });
});
