/**
 * The repository's import graph, read from source: every workspace package, every module and the
 * modules each imports (type-only imports marked), resolved through relative paths and package
 * `exports`. import-graph.test.ts checks the rules of docs/architecture.md against it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export interface WorkspacePackage {
  readonly name: string;
  /** Directory relative to the repository root (`apps/lake`). */
  readonly dir: string;
  readonly dependencies: ReadonlySet<string>;
  /** Subpath → target (`"./runtime/duckdb"` → `"./src/runtime/duckdb.ts"`); patterns keep their `*`. */
  readonly exports: ReadonlyMap<string, string>;
}

export interface ImportEdge {
  /** Importing module, relative to the root. */
  readonly from: string;
  readonly specifier: string;
  readonly typeOnly: boolean;
  /** Resolved module relative to the root, for relative and workspace imports. */
  readonly to: string | undefined;
  /** Why it did not resolve (unknown package, subpath not exported, missing file). */
  readonly unresolved?: string;
}

export interface ImportGraph {
  readonly root: string;
  readonly packages: readonly WorkspacePackage[];
  readonly modules: readonly string[];
  readonly edges: readonly ImportEdge[];
  packageOf(module: string): WorkspacePackage | undefined;
}

const IMPORT_FROM = /^[ \t]*(import|export)[ \t]+(type[ \t]+)?([^;]*?)[ \t\n]*from[ \t]*["']([^"']+)["']/gm;
const SIDE_EFFECT = /^[ \t]*import[ \t]*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Every import of one source text: static (type-only marked), side-effect and dynamic with a literal. */
export function importsOf(source: string): { specifier: string; typeOnly: boolean }[] {
  const out: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of source.matchAll(IMPORT_FROM))
    out.push({ specifier: m[4] as string, typeOnly: m[2] !== undefined });
  for (const m of source.matchAll(SIDE_EFFECT)) out.push({ specifier: m[1] as string, typeOnly: false });
  for (const m of source.matchAll(DYNAMIC)) out.push({ specifier: m[1] as string, typeOnly: false });
  return out;
}

function workspaceDirs(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
  const dirs: string[] = [];
  for (const pattern of manifest.workspaces) {
    if (pattern.endsWith("/*")) {
      const parent = pattern.slice(0, -2);
      for (const name of readdirSync(join(root, parent)).sort()) {
        if (existsSync(join(root, parent, name, "package.json"))) dirs.push(`${parent}/${name}`);
      }
    } else {
      dirs.push(pattern);
    }
  }
  return dirs;
}

function readPackage(root: string, dir: string): WorkspacePackage {
  const json = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    exports?: Record<string, string>;
  };
  return {
    name: json.name,
    dir,
    dependencies: new Set([
      ...Object.keys(json.dependencies ?? {}),
      ...Object.keys(json.devDependencies ?? {}),
    ]),
    exports: new Map(Object.entries(json.exports ?? {})),
  };
}

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const child = `${rel}/${name}`;
      if (statSync(join(root, child)).isDirectory()) walk(child);
      else if (name.endsWith(".ts")) out.push(child);
    }
  };
  walk(dir);
  return out;
}

/** The target of `subpath` in a package's exports (exact key first, then `*` patterns), or undefined. */
export function exportTarget(pkg: WorkspacePackage, subpath: string): string | undefined {
  const exact = pkg.exports.get(subpath);
  if (exact !== undefined) return exact;
  for (const [key, target] of pkg.exports) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const [head, tail] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(head) && subpath.endsWith(tail) && subpath.length >= key.length - 1) {
      return target.replace("*", subpath.slice(head.length, subpath.length - tail.length));
    }
  }
  return undefined;
}

export function readImportGraph(root: string): ImportGraph {
  const packages = workspaceDirs(root).map((dir) => readPackage(root, dir));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const packageOf = (module: string): WorkspacePackage | undefined =>
    packages.find((p) => module.startsWith(`${p.dir}/`));
  const modules = packages.flatMap((p) => sourceFiles(root, p.dir));
  const edges: ImportEdge[] = [];
  for (const from of modules) {
    for (const { specifier, typeOnly } of importsOf(readFileSync(join(root, from), "utf8"))) {
      if (specifier.startsWith(".")) {
        const to = relative(root, resolve(root, dirname(from), specifier));
        edges.push(
          existsSync(join(root, to))
            ? { from, specifier, typeOnly, to }
            : { from, specifier, typeOnly, to: undefined, unresolved: "no such file" },
        );
        continue;
      }
      const scoped = /^(@[^/]+\/[^/]+)(\/.*)?$/.exec(specifier);
      const pkg = scoped ? byName.get(scoped[1] as string) : undefined;
      if (!scoped || !pkg) {
        edges.push({ from, specifier, typeOnly, to: undefined });
        continue;
      }
      const target = exportTarget(pkg, `.${scoped[2] ?? ""}`);
      const to = target === undefined ? undefined : join(pkg.dir, target);
      edges.push(
        to === undefined
          ? { from, specifier, typeOnly, to, unresolved: `${pkg.name} does not export it` }
          : existsSync(join(root, to))
            ? { from, specifier, typeOnly, to }
            : { from, specifier, typeOnly, to: undefined, unresolved: `${pkg.name} exports a missing file` },
      );
    }
  }
  return { root, packages, modules, edges, packageOf };
}

/** Strongly connected components with more than one node (or a self-loop): the cycles of a graph. */
export function cyclesOf(nodes: readonly string[], next: (node: string) => readonly string[]): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next(v).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of nodes) if (!indices.has(v)) connect(v);
  return cycles;
}
