/**
 * Rich display for notebooks. An object shows itself by implementing `[Symbol.for("Jupyter.display")]()`
 * returning a MIME bundle (the convention Deno's and tslab's kernels use). Under the runner the bundle
 * becomes a `display_data` output of the running cell; run directly with `bun`, its text is printed.
 */
import type { LakeAsOf, PinnedSnapshots } from "./lake.ts";
import { isArrowTable, tableBundleFromArrow, tableBundleFromRows } from "./table.ts";

export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

export type MimeBundle = Readonly<Record<string, unknown>>;

export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** What the runner installs in the child process (see runner/child.ts). */
export interface NotebookRuntime {
  display(bundle: MimeBundle, metadata: Readonly<Record<string, unknown>>): void;
  readonly params: Readonly<Record<string, string>>;
  reportParams(values: Readonly<Record<string, unknown>>): void;
  /** The snapshots the run was asked to read (`bun run notebooks --as-of`); undefined: the current ones. */
  readonly asOf?: LakeAsOf;
  /** What a lake session pinned, for the run's `.ipynb`. */
  reportSnapshots?(tables: PinnedSnapshots): void;
}

export const RUNTIME_KEY = Symbol.for("tributary.notebook.runtime");

export function currentRuntime(): NotebookRuntime | undefined {
  return (globalThis as Record<symbol, NotebookRuntime | undefined>)[RUNTIME_KEY];
}

export function isDisplayable(value: unknown): value is Displayable {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as Partial<Displayable>)[JUPYTER_DISPLAY] === "function"
  );
}

/** Turns any value into a MIME bundle. */
export function toBundle(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const bundle = value[JUPYTER_DISPLAY]();
    if (bundle instanceof Promise) {
      throw new TypeError("Jupyter.display returned a Promise; await the value before displaying it");
    }
    return bundle;
  }
  if (isArrowTable(value)) return tableBundleFromArrow(value);
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainRecord)) {
    return tableBundleFromRows(value as Record<string, unknown>[]);
  }
  if (typeof value === "string") return { "text/plain": value };
  return { "text/plain": Bun.inspect(value, { colors: false, depth: 4 }) };
}

/** Shows values as rich outputs of the current cell. */
export function display(...values: unknown[]): void {
  for (const value of values) displayBundle(toBundle(value));
}

export function displayBundle(bundle: MimeBundle, metadata: Readonly<Record<string, unknown>> = {}): void {
  const runtime = currentRuntime();
  if (runtime) {
    runtime.display(bundle, metadata);
    return;
  }
  const text = bundle["text/plain"] ?? bundle["text/markdown"] ?? Object.keys(bundle).join(", ");
  process.stdout.write(`${String(text)}\n`);
}

/** A markdown output (rendered by Jupyter and by the HTML page). */
export function md(strings: TemplateStringsArray | string, ...values: unknown[]): Displayable {
  const text = typeof strings === "string" ? strings : String.raw({ raw: strings }, ...values);
  return bundleOf({ "text/markdown": text, "text/plain": text });
}

/** Raw HTML produced by the notebook's own code. */
export function html(markup: string, plain = "[HTML]"): Displayable {
  return bundleOf({ "text/html": markup, "text/plain": plain });
}

export function bundleOf(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

function isPlainRecord(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
