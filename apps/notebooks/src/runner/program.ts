/**
 * Turns a percent notebook into the module the child process imports. All cells stay in one module
 * so they share variables and top-level await works; an exception ends module evaluation, so later
 * cells do not run. Only the `// %%` marker lines of code cells change (into a call that reports the
 * cell start), and import specifiers become absolute (runner/specifiers.ts): every other line is kept where it
 * was, so stack traces point at the notebook's own line numbers.
 */
import { dirname, resolve } from "node:path";
import type { SourceCell } from "../format/percent.ts";
import { resolveSpecifiers } from "./specifiers.ts";

export const CELL_CALL = 'globalThis[Symbol.for("tributary.notebook.cell")]';

export function buildProgram(text: string, cells: readonly SourceCell[], notebookPath: string): string {
  const base = dirname(resolve(notebookPath));
  const out = resolveSpecifiers(text.replace(/\r\n?/g, "\n"), base).split("\n");
  cells.forEach((cell, index) => {
    if (cell.type !== "code") return;
    const call = `${CELL_CALL}(${index});`;
    if (cell.markerLine !== undefined) {
      out[cell.markerLine - 1] = call;
      return;
    }
    // Content before the first marker: prefix its first non-blank line, keeping line numbers.
    for (let l = cell.firstLine; l <= cell.lastLine; l++) {
      if ((out[l - 1] ?? "").trim() !== "") {
        out[l - 1] = `${call} ${out[l - 1]}`;
        return;
      }
    }
  });
  return out.join("\n");
}
