/**
 * Runs notebooks one after another and writes, per notebook, the executed `<name>.ipynb`
 * (validated against nbformat 4.5) and `<name>.html`, plus `index.html` and `index.json` listing
 * the latest run. Files are written to a temporary name and renamed, so a reader (the console)
 * never sees half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { nowRfc3339 } from "@tributary/shared/time";
import { CHARTS_RUNTIME_FILE, chartsRuntime } from "../format/charts-runtime.ts";
import { renderHtml } from "../format/html.ts";
import { serializeIpynb, toIpynb } from "../format/ipynb.ts";
import { validateNotebook } from "../format/validate.ts";
import type { LakeAsOf } from "../kit/lake.ts";
import { escapeHtml } from "../kit/table.ts";
import { executeNotebook, type NotebookExecution, type ProgressEvent } from "./execute.ts";

export const NOTEBOOKS_DIR = resolve(import.meta.dir, "../../notebooks");
export const DEFAULT_OUT_DIR = resolve(import.meta.dir, "../../out");
export const DEFAULT_TIMEOUT_MS = 300_000;

export interface RunNotebooksOptions {
  /** Notebook names (`market-overview`), file names or paths; empty runs every notebook. */
  readonly names?: readonly string[];
  readonly notebooksDir?: string;
  readonly outDir?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** The snapshots every notebook reads (`--as-of`); default: the current ones. */
  readonly asOf?: LakeAsOf;
  readonly timeoutMs?: number;
  /** Environment of the notebook processes (e.g. LAKE_URI); defaults to this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface NotebookOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly ipynbPath: string;
  readonly htmlPath: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly cells: number;
  readonly errors: readonly string[];
}

export interface RunNotebooksResult {
  readonly ok: boolean;
  readonly outDir: string;
  readonly notebooks: readonly NotebookOutcome[];
}

export class NotebookNotFoundError extends Error {
  override readonly name = "NotebookNotFoundError";
}

export function listNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("."))
    .sort()
    .map((f) => join(dir, f));
}

export function resolveNotebooks(names: readonly string[], dir: string = NOTEBOOKS_DIR): string[] {
  const all = listNotebooks(dir);
  if (names.length === 0) return all;
  return names.map((n) => {
    const byName = all.find((p) => basename(p) === n || basename(p) === `${n}.ts`);
    if (byName) return byName;
    if (n.endsWith(".ts") && existsSync(n)) return resolve(n);
    const known = all.map((p) => basename(p, ".ts")).join(", ");
    throw new NotebookNotFoundError(`no notebook named ${JSON.stringify(n)}; known: ${known || "(none)"}`);
  });
}

export async function runNotebooks(options: RunNotebooksOptions = {}): Promise<RunNotebooksResult> {
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const paths = resolveNotebooks(options.names ?? [], options.notebooksDir ?? NOTEBOOKS_DIR);
  mkdirSync(outDir, { recursive: true });
  const outcomes: NotebookOutcome[] = [];
  for (const path of paths) {
    const execution = await executeNotebook(path, {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      params: options.params ?? {},
      ...(options.asOf ? { asOf: options.asOf } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }).catch((err: unknown) => unreadable(path, err));
    const name = execution.run.name;
    const nb = toIpynb(execution.cells, execution.run);
    const validation = validateNotebook(JSON.parse(serializeIpynb(nb)));
    const errors = execution.cells.flatMap((c) =>
      c.outputs.flatMap((o) =>
        o.output_type === "error" ? [`line ${c.cell.firstLine}: ${o.ename}: ${o.evalue}`] : [],
      ),
    );
    if (!validation.valid) errors.push(...validation.errors.slice(0, 10).map((e) => `nbformat: ${e}`));
    const ok = execution.run.ok && validation.valid;
    const run = { ...execution.run, ok };
    const ipynbPath = join(outDir, `${name}.ipynb`);
    const htmlPath = join(outDir, `${name}.html`);
    writeAtomic(ipynbPath, serializeIpynb(toIpynb(execution.cells, run)));
    writeAtomic(htmlPath, renderHtml(execution.cells, run));
    outcomes.push({
      name,
      ok,
      ipynbPath,
      htmlPath,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      cells: execution.cells.length,
      errors,
    });
  }
  // The pages' offline chart runtime (vega-embed), beside them; rewritten only when it changed.
  const runtime = await chartsRuntime();
  const runtimePath = join(outDir, CHARTS_RUNTIME_FILE);
  if (!existsSync(runtimePath) || readFileSync(runtimePath, "utf8") !== runtime)
    writeAtomic(runtimePath, runtime);
  writeIndex(outDir, outcomes);
  return { ok: outcomes.every((o) => o.ok), outDir, notebooks: outcomes };
}

/** A notebook that could not even be started (unreadable file, bad cell marker) still gets outputs. */
function unreadable(path: string, err: unknown): NotebookExecution {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    path,
    timedOut: false,
    exitCode: null,
    run: { name: basename(path, ".ts"), startedAt: nowRfc3339(), durationMs: 0, params: {}, ok: false },
    cells: [
      {
        cell: {
          type: "code",
          source: "",
          title: undefined,
          metadata: {},
          markerLine: undefined,
          firstLine: 1,
          lastLine: 0,
        },
        status: "error",
        executionCount: null,
        durationMs: 0,
        outputs: [
          { output_type: "error", ename: e.name, evalue: e.message, traceback: [`${e.name}: ${e.message}`] },
        ],
      },
    ],
  };
}

interface IndexEntry {
  readonly name: string;
  readonly ok: boolean;
  readonly ipynb: string;
  readonly html: string;
  readonly started_at: string;
  readonly duration_ms: number;
  readonly errors: readonly string[];
}

/** Merges this run into `index.json` (notebooks run earlier keep their entry) and renders index.html. */
function writeIndex(outDir: string, outcomes: readonly NotebookOutcome[]): void {
  const indexPath = join(outDir, "index.json");
  const previous = readIndex(indexPath);
  const byName = new Map(previous.map((e) => [e.name, e]));
  for (const o of outcomes) {
    byName.set(o.name, {
      name: o.name,
      ok: o.ok,
      ipynb: basename(o.ipynbPath),
      html: basename(o.htmlPath),
      started_at: o.startedAt,
      duration_ms: Math.round(o.durationMs),
      errors: o.errors,
    });
  }
  const entries = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  writeAtomic(indexPath, `${JSON.stringify({ generated_at: nowRfc3339(), notebooks: entries }, null, 2)}\n`);
  const rows = entries
    .map(
      (e) =>
        `<tr><td><a href="${encodeURIComponent(e.html)}">${escapeHtml(e.name)}</a></td><td class="${e.ok ? "ok" : "bad"}">${
          e.ok ? "ok" : "failed"
        }</td><td>${escapeHtml(e.started_at)}</td><td>${(e.duration_ms / 1000).toFixed(1)} s</td><td><a href="${encodeURIComponent(
          e.ipynb,
        )}">.ipynb</a></td></tr>`,
    )
    .join("");
  writeAtomic(
    join(outDir, "index.html"),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tributary notebooks</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:32px auto;padding:0 24px;color:#1f2937}table{border-collapse:collapse}td,th{padding:6px 14px;border-bottom:1px solid #e5e7eb;text-align:left}.ok{color:#047857}.bad{color:#b91c1c}</style></head><body><h1>Notebooks</h1><table><thead><tr><th>notebook</th><th>status</th><th>run at (UTC)</th><th>duration</th><th>download</th></tr></thead><tbody>${rows}</tbody></table></body></html>\n`,
  );
}

function readIndex(path: string): IndexEntry[] {
  if (!existsSync(path)) return [];
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { notebooks?: IndexEntry[] };
    return Array.isArray(parsed.notebooks) ? parsed.notebooks : [];
  } catch {
    return [];
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
