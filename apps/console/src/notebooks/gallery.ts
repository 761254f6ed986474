/**
 * The notebook gallery: rendered notebooks from the runner's output directory (`index.json` with
 * each notebook's last run, written by apps/notebooks; plain `*.html` files when there is none).
 * Files are served only by validated name from inside that directory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CHARTS_RUNTIME_FILE } from "@tributary/notebooks/charts-runtime";
import { confine, PathError } from "../lake/paths.ts";

export interface NotebookEntry {
  readonly name: string;
  readonly html: string | null;
  readonly ipynb: string | null;
  readonly ok: boolean | null;
  /** When it last ran (RFC 3339, from the runner), or the HTML file's time. */
  readonly ranAt: string | null;
  readonly durationMs: number | null;
  readonly errors: readonly string[];
}

interface IndexEntry {
  name?: unknown;
  ok?: unknown;
  html?: unknown;
  ipynb?: unknown;
  started_at?: unknown;
  duration_ms?: unknown;
  errors?: unknown;
}

const FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}\.(html|ipynb)$/;
const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  ipynb: "application/x-ipynb+json",
  js: "text/javascript; charset=utf-8",
};

export class NotebookGallery {
  constructor(readonly dir: string) {}

  list(): NotebookEntry[] {
    if (!existsSync(this.dir)) return [];
    const fromIndex = this.readIndex();
    const byName = new Map(fromIndex.map((e) => [e.name, e]));
    let files: string[] = [];
    try {
      files = readdirSync(this.dir).filter((f) => FILE.test(f) && f !== "index.html");
    } catch {
      files = [];
    }
    for (const f of files.filter((x) => x.endsWith(".html"))) {
      const name = f.slice(0, -".html".length);
      if (byName.has(name)) continue;
      const ipynb = `${name}.ipynb`;
      byName.set(name, {
        name,
        html: f,
        ipynb: files.includes(ipynb) ? ipynb : null,
        ok: null,
        ranAt: new Date(statSync(join(this.dir, f)).mtimeMs).toISOString(),
        durationMs: null,
        errors: [],
      });
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private readIndex(): NotebookEntry[] {
    const path = join(this.dir, "index.json");
    if (!existsSync(path)) return [];
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as { notebooks?: IndexEntry[] };
      if (!Array.isArray(parsed.notebooks)) return [];
      return parsed.notebooks.flatMap((e): NotebookEntry[] => {
        if (typeof e.name !== "string") return [];
        const html = typeof e.html === "string" && FILE.test(e.html) ? e.html : null;
        const ipynb = typeof e.ipynb === "string" && FILE.test(e.ipynb) ? e.ipynb : null;
        return [
          {
            name: e.name,
            html: html && existsSync(join(this.dir, html)) ? html : null,
            ipynb: ipynb && existsSync(join(this.dir, ipynb)) ? ipynb : null,
            ok: typeof e.ok === "boolean" ? e.ok : null,
            ranAt: typeof e.started_at === "string" ? e.started_at : null,
            durationMs: typeof e.duration_ms === "number" ? e.duration_ms : null,
            errors: Array.isArray(e.errors)
              ? e.errors.filter((x): x is string => typeof x === "string").slice(0, 10)
              : [],
          },
        ];
      });
    } catch {
      return [];
    }
  }

  /** The bytes of one output file, by its plain file name (no directories). */
  read(file: string): { body: Uint8Array; type: string } {
    // Besides the notebooks' own files, the chart runtime the reports load from beside them.
    if (!FILE.test(file) && file !== CHARTS_RUNTIME_FILE)
      throw new PathError(`notebook file ${JSON.stringify(file.slice(0, 80))} is not a valid name`);
    const path = confine(this.dir, [file], "notebook file");
    if (!existsSync(path)) throw new PathError(`no notebook file named ${file}`);
    return {
      body: readFileSync(path),
      type: TYPES[file.slice(file.lastIndexOf(".") + 1)] ?? "application/octet-stream",
    };
  }
}
