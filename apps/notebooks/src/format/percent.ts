/**
 * Jupytext "percent" TypeScript notebooks: plain `.ts` files where `// %%` starts a code cell and
 * `// %% [markdown]` a markdown cell whose lines are `//` comments. The file stays valid TypeScript,
 * so biome and tsc check it like any other module.
 * Marker syntax (as Jupytext writes it): `// %% Optional title [markdown] key="value" tags=["a"]`.
 */

export type CellType = "code" | "markdown" | "raw";

export interface SourceCell {
  readonly type: CellType;
  /** Cell text: code verbatim; markdown and raw with the leading `// ` removed. */
  readonly source: string;
  readonly title: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** 1-based line of the `// %%` marker, or undefined for content before the first marker. */
  readonly markerLine: number | undefined;
  /** 1-based first and last line of the cell's body (after the marker); first > last when empty. */
  readonly firstLine: number;
  readonly lastLine: number;
}

const MARKER = /^\s*\/\/\s?%%(?!%)(.*)$/;
const TYPE_TAGS: Readonly<Record<string, CellType>> = { markdown: "markdown", md: "markdown", raw: "raw" };

export class PercentFormatError extends Error {
  override readonly name = "PercentFormatError";
}

/** Splits a percent-format TypeScript file into cells. */
export function parsePercent(text: string): SourceCell[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const cells: SourceCell[] = [];
  let header: ParsedMarker | undefined;
  let headerLine: number | undefined;
  let start = 1;

  const flush = (end: number): void => {
    const body = lines.slice(start - 1, end);
    if (header === undefined && body.every((l) => l.trim() === "")) return;
    cells.push(buildCell(header, headerLine, body, start));
  };

  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m) return;
    flush(i);
    header = parseMarker(m[1] ?? "", i + 1);
    headerLine = i + 1;
    start = i + 2;
  });
  flush(lines.length);
  return cells;
}

interface ParsedMarker {
  readonly type: CellType;
  readonly title: string | undefined;
  readonly metadata: Record<string, unknown>;
}

function parseMarker(rest: string, line: number): ParsedMarker {
  let text = rest.trim();
  let type: CellType = "code";
  const metadata: Record<string, unknown> = {};
  const typeMatch = /\[(\w+)\]/.exec(text);
  if (typeMatch) {
    const tag = TYPE_TAGS[(typeMatch[1] ?? "").toLowerCase()];
    if (!tag) throw new PercentFormatError(`line ${line}: unknown cell type [${typeMatch[1]}]`);
    type = tag;
    text = `${text.slice(0, typeMatch.index)} ${text.slice(typeMatch.index + typeMatch[0].length)}`.trim();
  }
  // key=<JSON value> pairs; anything that is not one stays part of the title.
  const attr = /(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|-?\d+(?:\.\d+)?|true|false|null)/g;
  const titleParts: string[] = [];
  let last = 0;
  for (const m of text.matchAll(attr)) {
    const key = m[1] ?? "";
    try {
      metadata[key] = JSON.parse(m[2] ?? "");
    } catch {
      throw new PercentFormatError(`line ${line}: metadata ${key} is not valid JSON: ${m[2]}`);
    }
    titleParts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
  }
  titleParts.push(text.slice(last));
  const title = titleParts.join(" ").replace(/\s+/g, " ").trim();
  return { type, title: title === "" ? undefined : title, metadata };
}

function buildCell(
  header: ParsedMarker | undefined,
  markerLine: number | undefined,
  body: string[],
  firstLine: number,
): SourceCell {
  const type = header?.type ?? "code";
  // Blank lines around a cell separate cells; they are not part of its source.
  let lo = 0;
  let hi = body.length;
  while (lo < hi && (body[lo] ?? "").trim() === "") lo++;
  while (hi > lo && (body[hi - 1] ?? "").trim() === "") hi--;
  const trimmed = body.slice(lo, hi);
  const source = type === "code" ? trimmed.join("\n") : trimmed.map(uncomment).join("\n");
  return {
    type,
    source,
    title: header?.title,
    metadata: header?.metadata ?? {},
    markerLine,
    firstLine,
    lastLine: firstLine + body.length - 1,
  };
}

function uncomment(line: string): string {
  const m = /^\s*\/\/ ?(.*)$/.exec(line);
  return m ? (m[1] ?? "") : line;
}
