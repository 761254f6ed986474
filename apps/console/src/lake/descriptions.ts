/**
 * What each dataset and column means, read from docs/datasets.md so the console and the docs can
 * never disagree: a `### \`layer/dataset\`` heading (more names in backticks share it; a name
 * without a layer takes the first's), its first paragraph as the summary, and every row of its
 * `| column | … | meaning |` table (a row may name several columns, comma-separated).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface DatasetDoc {
  readonly summary: string;
  /** Column name → meaning (empty when the table leaves it blank). */
  readonly columns: ReadonlyMap<string, string>;
}

/** docs/datasets.md of this checkout. */
export const DATASET_DOCS_PATH = resolve(import.meta.dir, "../../../../docs/datasets.md");

const cells = (line: string): string[] =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim());

/** Markdown inline code and emphasis as plain text. */
const plain = (text: string): string => text.replaceAll(/[`*]/g, "").trim();

export function parseDatasetDocs(markdown: string): Map<string, DatasetDoc> {
  const out = new Map<string, DatasetDoc>();
  const sections = markdown.split(/^### /m).slice(1);
  for (const section of sections) {
    const [heading = "", ...body] = section.split("\n");
    const names = [...heading.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const layer = names[0]?.split("/")[0];
    if (!layer || !names[0]?.includes("/")) continue;
    const datasets = names.map((n) => (n.includes("/") ? n : `${layer}/${n}`));
    const columns = new Map<string, string>();
    let header: string[] | undefined;
    const paragraph: string[] = [];
    let inParagraph = true;
    for (const line of body) {
      if (line.startsWith("#")) break;
      if (line.trim().startsWith("|")) {
        inParagraph = false;
        const row = cells(line);
        if (!header) {
          header = row.map((h) => h.toLowerCase());
          continue;
        }
        if (row.every((c) => /^:?-+:?$/.test(c))) continue;
        const nameAt = header.indexOf("column");
        const meaningAt = header.indexOf("meaning");
        if (nameAt < 0) continue;
        const meaning = meaningAt >= 0 ? plain(row[meaningAt] ?? "") : "";
        for (const name of (row[nameAt] ?? "").split(",")) if (plain(name)) columns.set(plain(name), meaning);
        continue;
      }
      header = undefined;
      if (line.trim() === "") {
        if (paragraph.length > 0) inParagraph = false;
        continue;
      }
      if (inParagraph) paragraph.push(line.trim());
    }
    const doc = { summary: plain(paragraph.join(" ")), columns };
    for (const d of datasets) if (!out.has(d)) out.set(d, doc);
  }
  return out;
}

/** The descriptions of docs/datasets.md, or none when the file is not there (an installed console). */
export function loadDatasetDocs(path = DATASET_DOCS_PATH): Map<string, DatasetDoc> {
  return existsSync(path) ? parseDatasetDocs(readFileSync(path, "utf8")) : new Map();
}
