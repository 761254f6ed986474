/**
 * How every command treats its arguments: `--help` (or `-h`) anywhere answers the usage on stdout and
 * exits 0, before anything starts; a bad or unknown argument answers one line on stderr naming it and
 * exits 2. Commands parse with `parseCommandLine` (node:util's parseArgs, strict) or their own parser
 * throwing `UsageError`, inside `commandLineOrExit`.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** True when the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util's strict parseArgs, with its errors as one-line UsageErrors. */
export function parseCommandLine<O extends Options>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(parseError(err));
  }
}

function parseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(e.message ?? "")?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted ?? ""}`.trim();
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${quoted ?? ""}`.trim();
    default:
      return (e.message ?? String(err)).split(/\.\s/)[0]?.replace(/\.$/, "") ?? String(err);
  }
}

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly exit: (code: number) => never;
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  exit: (code) => process.exit(code),
};

/**
 * Parses the command line of `program` (`bun run <program>`): the usage and exit 0 on `--help`, one
 * line and exit 2 on a UsageError, else what `parse` returned.
 */
export function commandLineOrExit<T>(
  program: string,
  usage: string,
  argv: readonly string[],
  parse: (argv: readonly string[]) => T,
  io: CommandIo = processIo,
): T {
  if (wantsHelp(argv)) {
    io.out(usage);
    return io.exit(0);
  }
  try {
    return parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(usageLine(program, err.message));
    return io.exit(2);
  }
}

/** The one line a usage error prints. */
export function usageLine(program: string, message: string): string {
  return `${program}: ${message} (bun run ${program} --help shows the usage)`;
}
