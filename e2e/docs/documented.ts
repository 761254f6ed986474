/**
 * The commands the documentation shows: every `bun run …` in an inline code span or on a line of a
 * fenced block of README.md, README.pt-BR.md and docs/*.md, with `# comments` and table escapes
 * removed. A command with placeholders (`<job>`, `[--json]`, `a|b`, `…`) is a synopsis; any other is
 * concrete and must be exercised by a test (commands.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface DocumentedCommand {
  readonly text: string;
  /** The package.json script: `jobs` in `bun run jobs list`. */
  readonly script: string;
  readonly synopsis: boolean;
  readonly where: string;
}

export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f));
  return ["README.md", "README.pt-BR.md", ...docs];
}

export function documentedCommands(root: string): DocumentedCommand[] {
  const out: DocumentedCommand[] = [];
  for (const file of docFiles(root)) {
    const text = readFileSync(join(root, file), "utf8");
    let fenced = false;
    text.split("\n").forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      if (line.trimStart().startsWith("```")) {
        fenced = !fenced;
        return;
      }
      // In a fenced block only lines that start with a command count (others are prose or trees).
      const candidates = fenced
        ? /^\s*(\$\s+)?bun run /.test(line)
          ? [line]
          : []
        : [...line.matchAll(/`([^`]*bun run [^`]*)`/g)].map((m) => m[1] as string);
      for (const c of candidates) {
        for (const piece of c.split(/&&|;/)) {
          const at = piece.indexOf("bun run ");
          if (at < 0) continue;
          const command = piece
            .slice(at)
            .replace(/\s+#.*$/, "") // a comment
            .replace(/\s{2,}\S.*$/, "") // a description column
            .replace(/\s*\\$/, "") // a continuation backslash
            .replaceAll("\\|", "|")
            .trim();
          const script = /^bun run ([a-z:-]+)/.exec(command)?.[1];
          if (!script) continue;
          out.push({ text: command, script, synopsis: /[<>[\]|…]|\.\.\./.test(command), where });
        }
      }
    });
  }
  return out;
}
