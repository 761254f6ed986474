/**
 * A notebook edited in Jupyter back to the percent-format `.ts` that stays the source of truth:
 * cells become `// %%` markers (title and tags kept), markdown becomes `//` comment lines, outputs
 * and Jupyter's view state (collapsed, scrolled, execution times) are left behind.
 * `percentText(parsePercent(x))` is `x` for a file in the canonical layout (one blank line between cells).
 */
import type { CellType, SourceCell } from "./percent.ts";

export class IpynbImportError extends Error {
  override readonly name = "IpynbImportError";
}

/** Metadata a front end or our runner sets on its own; not part of the notebook's source. */
const VIEW_STATE = new Set([
  "collapsed",
  "scrolled",
  "jupyter",
  "execution",
  "ExecuteTime",
  "trusted",
  "editable",
  "deletable",
  "vscode",
  "tributary",
  "title",
]);

export interface ImportedNotebook {
  readonly text: string;
  /** Metadata keys that the percent marker cannot hold (nested objects), per cell. */
  readonly dropped: readonly string[];
}

export function ipynbToPercent(json: unknown): ImportedNotebook {
  const nb = json as { nbformat?: unknown; cells?: unknown };
  if (nb === null || typeof nb !== "object" || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new IpynbImportError("not an nbformat 4 notebook (no nbformat: 4 or no cells list)");
  }
  const dropped: string[] = [];
  const cells = nb.cells.map((raw, i) => {
    const c = raw as { cell_type?: unknown; source?: unknown; metadata?: Record<string, unknown> };
    const type = c.cell_type;
    if (type !== "code" && type !== "markdown" && type !== "raw") {
      throw new IpynbImportError(`cell ${i + 1}: unknown cell_type ${JSON.stringify(type)}`);
    }
    const source = Array.isArray(c.source) ? c.source.join("") : typeof c.source === "string" ? c.source : "";
    const metadata: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(c.metadata ?? {})) {
      if (VIEW_STATE.has(key)) continue;
      if (!markerValue(value)) {
        dropped.push(`cell ${i + 1}: ${key}`);
        continue;
      }
      metadata[key] = value;
    }
    const title = typeof c.metadata?.title === "string" ? c.metadata.title : undefined;
    return {
      type: type as CellType,
      source: source.replace(/\r\n?/g, "\n").replace(/\n+$/, ""),
      title,
      metadata,
    };
  });
  return { text: percentText(cells), dropped };
}

export function percentText(
  cells: readonly Pick<SourceCell, "type" | "source" | "title" | "metadata">[],
): string {
  const blocks = cells.map((cell) => {
    const marker = [
      "// %%",
      cell.title,
      cell.type === "code" ? undefined : `[${cell.type}]`,
      ...Object.entries(cell.metadata).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
    ]
      .filter((p) => p !== undefined && p !== "")
      .join(" ");
    const body =
      cell.type === "code"
        ? cell.source
        : cell.source
            .split("\n")
            .map((l) => (l === "" ? "//" : `// ${l}`))
            .join("\n");
    return cell.source === "" ? `${marker}\n` : `${marker}\n${body}\n`;
  });
  return blocks.join("\n");
}

/** Values the marker's `key=value` syntax reads back: scalars, flat lists, flat objects. */
function markerValue(value: unknown): boolean {
  const scalar = (v: unknown): boolean =>
    v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
  if (scalar(value)) return true;
  if (Array.isArray(value)) return value.every(scalar);
  return false;
}
