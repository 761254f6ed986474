/** `bun run notebooks import <file.ipynb> [--out <file.ts>] [--force]`: a Jupyter-edited notebook back to percent format. */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { IpynbImportError, ipynbToPercent } from "./import.ts";

export const IMPORT_USAGE = `usage: bun run notebooks import <file.ipynb> [--out <file.ts>] [--force]

Writes the notebook as a percent-format TypeScript file (default: <file>.ts beside the .ipynb).
Outputs are not kept: the .ts is the source, run it to get them back.
  --out <file.ts>   where to write
  --force           replace an existing file`;

export function importCli(argv: readonly string[]): number {
  let input: string | undefined;
  let out: string | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--force") force = true;
    else if (arg === "--out") out = argv[++i];
    else if (arg.startsWith("--out=")) out = arg.slice("--out=".length);
    else if (arg === "-h" || arg === "--help") {
      console.log(IMPORT_USAGE);
      return 0;
    } else if (arg.startsWith("-") || input !== undefined) {
      console.error(`unexpected argument ${arg}\n\n${IMPORT_USAGE}`);
      return 2;
    } else input = arg;
  }
  if (!input || out === "") {
    console.error(`${input ? "--out needs a file" : "missing <file.ipynb>"}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  const target = out ?? join(dirname(input), `${basename(input, ".ipynb")}.ts`);
  if (existsSync(target) && !force) {
    console.error(`${target} exists: pass --force to replace it, or --out another file`);
    return 1;
  }
  let imported: ReturnType<typeof ipynbToPercent>;
  try {
    imported = ipynbToPercent(JSON.parse(readFileSync(input, "utf8")));
  } catch (err) {
    const why = err instanceof IpynbImportError || err instanceof SyntaxError ? err.message : String(err);
    console.error(`cannot import ${input}: ${why}`);
    return 1;
  }
  for (const d of imported.dropped) console.error(`dropped metadata the percent format cannot hold: ${d}`);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, imported.text);
  renameSync(tmp, target);
  console.log(`wrote ${target}`);
  return 0;
}
