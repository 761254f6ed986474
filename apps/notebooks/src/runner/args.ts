/** Command-line arguments of `bun run notebooks`. */
import { existsSync, readFileSync } from "node:fs";
import { UsageError as SharedUsageError } from "@tributary/shared/cli";
import { parseRfc3339Micros } from "@tributary/shared/time";
import type { LakeAsOf } from "../kit/lake.ts";
import { parseParamArgs } from "../kit/params.ts";

export interface CliArgs {
  readonly names: readonly string[];
  readonly params: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly outDir: string | undefined;
  readonly lakeUri: string | undefined;
  readonly asOf: LakeAsOf | undefined;
  readonly json: boolean;
  readonly list: boolean;
  readonly help: boolean;
}

/** A bad argument: `bun run notebooks` answers it in one line with exit 2 (shared/src/cli.ts). */
export class UsageError extends SharedUsageError {}

export const USAGE = `usage: bun run notebooks [name…] [options]

Runs TypeScript notebooks (apps/notebooks/notebooks/*.ts) and writes <name>.ipynb and <name>.html.

options:
  --param key=value   override a notebook parameter (repeatable; -p for short)
  --timeout <s>       per-notebook timeout in seconds (default 300)
  --out <dir>         output directory (default apps/notebooks/out)
  --lake <uri>        lake to read (sets LAKE_URI for the notebooks)
  --as-of <when>      read every table as of an RFC 3339 time (2026-12-06T20:00:00Z), or as of the
                      snapshots an earlier run recorded in its .ipynb (--as-of out/market-overview.ipynb)
  --json              print a JSON summary on the last line of stdout
  --list              list the notebooks and exit
  -h, --help          show this help

subcommands:
  kernel install [--user | --prefix <dir>]   install the Tributary Jupyter kernel
  import <file.ipynb> [--out <file.ts>] [--force]
                                             a Jupyter-edited notebook back to percent format`;

export function parseArgs(argv: readonly string[]): CliArgs {
  const names: string[] = [];
  const pairs: string[] = [];
  let timeoutMs = 300_000;
  let outDir: string | undefined;
  let lakeUri: string | undefined;
  let asOf: LakeAsOf | undefined;
  let json = false;
  let list = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? splitOnce(arg) : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--")))
        throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--param":
      case "-p":
        pairs.push(value());
        break;
      case "--timeout": {
        const v = value();
        const s = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || s <= 0 || s > 86_400) {
          throw new UsageError(`--timeout ${v}: expected seconds from 1 to 86400`);
        }
        timeoutMs = Math.round(s * 1000);
        break;
      }
      case "--out":
        outDir = value();
        break;
      case "--lake":
        lakeUri = value();
        break;
      case "--as-of":
        asOf = parseAsOf(value());
        break;
      case "--json":
        json = true;
        break;
      case "--list":
        list = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        if (flag.startsWith("-")) throw new UsageError(`unknown option ${flag}`);
        names.push(flag);
    }
  }
  let params: Record<string, string>;
  try {
    params = parseParamArgs(pairs);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  return { names, params, timeoutMs, outDir, lakeUri, asOf, json, list, help };
}

/** `--as-of`: an RFC 3339 time, or an executed `.ipynb` whose `metadata.tributary.snapshots` says what it read. */
export function parseAsOf(text: string): LakeAsOf {
  if (text.endsWith(".ipynb")) {
    if (!existsSync(text)) throw new UsageError(`--as-of ${text}: no such file`);
    let snapshots: unknown;
    try {
      const nb = JSON.parse(readFileSync(text, "utf8")) as {
        metadata?: { tributary?: { snapshots?: unknown } };
      };
      snapshots = nb.metadata?.tributary?.snapshots;
    } catch (err) {
      throw new UsageError(`--as-of ${text}: not a notebook (${(err as Error).message})`);
    }
    const valid =
      typeof snapshots === "object" &&
      snapshots !== null &&
      Object.values(snapshots).every((v) => typeof v === "string");
    if (!valid)
      throw new UsageError(
        `--as-of ${text}: it records no snapshots (metadata.tributary.snapshots); it was not written by a run that read the lake`,
      );
    return { kind: "snapshots", tables: snapshots as Record<string, string> };
  }
  try {
    return { kind: "time", ms: Number(parseRfc3339Micros(text) / 1000n) };
  } catch (err) {
    throw new UsageError(
      `--as-of ${JSON.stringify(text.slice(0, 40))}: expected an RFC 3339 time such as 2026-12-06T20:00:00Z or an executed .ipynb (${(err as Error).message})`,
    );
  }
}

function splitOnce(arg: string): [string, string] {
  const eq = arg.indexOf("=");
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}
