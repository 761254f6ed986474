/**
 * Executed notebooks as nbformat 4.5 JSON (the `.ipynb` Jupyter, VS Code and GitHub open).
 * Sources are written as lists of lines and keys are sorted, as Jupyter does, so diffs stay small.
 */
import { createHash } from "node:crypto";
import { KERNEL_DISPLAY_NAME, KERNEL_LANGUAGE, KERNEL_NAME, LANGUAGE_INFO } from "../kernel/kernelspec.ts";
import type { LakeAsOf } from "../kit/lake.ts";
import type { SourceCell } from "./percent.ts";

/** A MIME bundle: JSON types (`application/json`, `*+json`) hold values, all others text. */
export type MimeBundle = Readonly<Record<string, unknown>>;

export interface StreamOutput {
  readonly output_type: "stream";
  readonly name: "stdout" | "stderr";
  readonly text: string;
}

export interface DisplayOutput {
  readonly output_type: "display_data";
  readonly data: MimeBundle;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface ErrorOutput {
  readonly output_type: "error";
  readonly ename: string;
  readonly evalue: string;
  readonly traceback: readonly string[];
}

export type CellOutput = StreamOutput | DisplayOutput | ErrorOutput;

export type CellStatus = "ok" | "error" | "not-run";

export interface ExecutedCell {
  readonly cell: SourceCell;
  readonly status: CellStatus;
  readonly executionCount: number | null;
  readonly outputs: readonly CellOutput[];
  readonly durationMs: number;
}

export interface NotebookRunInfo {
  readonly name: string;
  /** RFC 3339 UTC with microseconds. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly ok: boolean;
  /** What its lake sessions read: `layer.dataset` → Iceberg snapshot id, `hive` (no table) or `none`. */
  readonly snapshots?: Readonly<Record<string, string>>;
  /** What the run was asked to read (`--as-of`), when not the current snapshots. */
  readonly asOf?: LakeAsOf;
}

export interface Ipynb {
  readonly nbformat: 4;
  readonly nbformat_minor: 5;
  readonly metadata: Record<string, unknown>;
  readonly cells: readonly Record<string, unknown>[];
}

/** Builds the executed notebook. Cell ids are stable: a hash of position and source. */
export function toIpynb(cells: readonly ExecutedCell[], run: NotebookRunInfo): Ipynb {
  const ids = new Set<string>();
  const out = cells.map((c, i) => {
    const id = uniqueId(cellId(i, c.cell.source), ids);
    const metadata: Record<string, unknown> = { ...c.cell.metadata };
    if (c.cell.title !== undefined) metadata.title = c.cell.title;
    if (c.cell.type !== "code") {
      return { cell_type: c.cell.type, id, metadata, source: toLines(c.cell.source) };
    }
    metadata.tributary = { duration_ms: Math.round(c.durationMs), status: c.status };
    return {
      cell_type: "code",
      execution_count: c.executionCount,
      id,
      metadata,
      outputs: c.outputs.map(outputJson),
      source: toLines(c.cell.source),
    };
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      // The Tributary kernel: opening the notebook in Jupyter runs it live (see kernel/kernelspec.ts).
      kernelspec: { name: KERNEL_NAME, display_name: KERNEL_DISPLAY_NAME, language: KERNEL_LANGUAGE },
      language_info: { ...LANGUAGE_INFO },
      tributary: {
        notebook: run.name,
        started_at: run.startedAt,
        duration_ms: Math.round(run.durationMs),
        params: run.params,
        ok: run.ok,
        ...(run.snapshots ? { snapshots: run.snapshots } : {}),
        ...(run.asOf ? { as_of: run.asOf } : {}),
      },
    },
    cells: out,
  };
}

/** Serializes like Jupyter: sorted keys, one-space indent, trailing newline. */
export function serializeIpynb(nb: Ipynb): string {
  return `${JSON.stringify(sortKeys(nb), null, 1)}\n`;
}

function outputJson(o: CellOutput): Record<string, unknown> {
  switch (o.output_type) {
    case "stream":
      return { output_type: "stream", name: o.name, text: toLines(o.text) };
    case "display_data":
      return { output_type: "display_data", data: bundleJson(o.data), metadata: { ...o.metadata } };
    case "error":
      return { output_type: "error", ename: o.ename, evalue: o.evalue, traceback: [...o.traceback] };
  }
}

export function isJsonMime(mime: string): boolean {
  return mime === "application/json" || /^application\/.+\+json$/.test(mime);
}

function bundleJson(bundle: MimeBundle): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    out[mime] = isJsonMime(mime) ? value : toLines(typeof value === "string" ? value : String(value));
  }
  return out;
}

/** Jupyter's multiline string form: every line keeps its `\n` except the last. */
export function toLines(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\n");
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}\n` : p)).filter((p) => p !== "");
}

function cellId(index: number, source: string): string {
  const hash = createHash("sha256").update(`${index}\0${source}`).digest("hex").slice(0, 12);
  return `c${String(index).padStart(3, "0")}-${hash}`;
}

function uniqueId(id: string, seen: Set<string>): string {
  let candidate = id;
  for (let n = 1; seen.has(candidate); n++) candidate = `${id}-${n}`;
  seen.add(candidate);
  return candidate;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
