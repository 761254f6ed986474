/**
 * `bun run notebooks [name…] [--param key=value] [--timeout s] [--out dir] [--lake uri] [--as-of when] [--json]`
 * Exit code: 0 when every notebook ran without an error output, 1 otherwise, 2 for bad usage.
 * Subcommands: `kernel install …` (the Jupyter kernel), `import <file.ipynb>` (back to percent format).
 */
import { basename, relative } from "node:path";
import { commandLineOrExit } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { parseArgs, USAGE } from "./runner/args.ts";
import type { ProgressEvent } from "./runner/execute.ts";
import { listNotebooks, NotebookNotFoundError, runNotebooks } from "./runner/run-notebooks.ts";

function progressLine(e: ProgressEvent): string {
  const where = `[${e.ordinal}/${e.total}] line ${e.cell.firstLine}${e.cell.title ? ` ${e.cell.title}` : ""}`;
  if (e.kind === "cell-start") return `${e.notebook} ▸ ${where}`;
  const time =
    e.durationMs < 1000 ? `${Math.round(e.durationMs)} ms` : `${(e.durationMs / 1000).toFixed(2)} s`;
  return `${e.notebook} ${e.status === "ok" ? "✓" : "✗"} ${where} ${e.status} ${time}`;
}

async function main(): Promise<number> {
  const [subcommand, ...rest] = process.argv.slice(2);
  if (subcommand === "kernel") return (await import("./kernel/cli.ts")).kernelCli(rest);
  if (subcommand === "import") return (await import("./format/import-cli.ts")).importCli(rest);
  const args = commandLineOrExit("notebooks", USAGE, process.argv.slice(2), parseArgs);
  if (args.list) {
    for (const p of listNotebooks()) console.log(basename(p, ".ts"));
    return 0;
  }
  const env = { ...process.env, ...(args.lakeUri ? { LAKE_URI: args.lakeUri } : {}) };
  // Fail fast on bad configuration, before starting any notebook.
  const config = loadConfigOrExit(env);
  console.error(`notebooks: lake ${config.lake.uri}`);
  try {
    const result = await runNotebooks({
      names: args.names,
      params: args.params,
      ...(args.asOf ? { asOf: args.asOf } : {}),
      timeoutMs: args.timeoutMs,
      ...(args.outDir ? { outDir: args.outDir } : {}),
      env,
      onProgress: (e) => console.error(progressLine(e)),
    });
    for (const nb of result.notebooks) {
      const where = relative(process.cwd(), nb.htmlPath);
      console.error(
        `${nb.ok ? "✓" : "✗"} ${nb.name} ${(nb.durationMs / 1000).toFixed(2)} s → ${where} (+ .ipynb)${
          nb.errors.length ? `\n    ${nb.errors.join("\n    ")}` : ""
        }`,
      );
    }
    if (args.json) {
      console.log(
        JSON.stringify({
          ok: result.ok,
          out: result.outDir,
          notebooks: result.notebooks.map((n) => ({
            name: n.name,
            ok: n.ok,
            run_s: Math.round(n.durationMs) / 1000,
            ipynb: n.ipynbPath,
            html: n.htmlPath,
            errors: n.errors,
          })),
        }),
      );
    }
    return result.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof NotebookNotFoundError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
}

process.exit(await main());
