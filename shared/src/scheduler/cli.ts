/**
 * `bun run jobs list|run|backfill|history|start`: the command line over a job registry. Each app's
 * jobs CLI builds its registry and hands it here; exit codes are 0 (ok), 1 (a job failed) and 2
 * (bad usage or configuration).
 */
import { UsageError, usageLine, wantsHelp } from "../cli.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { parseRfc3339Micros, TimeFormatError } from "../time.ts";
import { history, list, logs } from "./cli-reports.ts";
import { serveSchedulerHealth } from "./health-server.ts";
import { historyPath, RunHistory } from "./history.ts";
import type { JobDefinition } from "./job.ts";
import { createProgressBar, type ProgressSink } from "./progress.ts";
import { JobRegistry, JobRegistryError, UnknownJobError } from "./registry.ts";
import { createScheduler, type Scheduler } from "./scheduler.ts";

export const JOBS_USAGE = `Usage: bun run jobs <command>

  list [--json]                              the jobs of this state directory: this configuration's
                                             and those other processes registered there
  run <job> [--at <time>]                    run a job now (recorded as a manual run)
  backfill <job> --from <time> --to <time>   re-run a job over [from, to): once per data partition
           [--continue-on-error]             (hour or day) it touches, or per cron slot for a job
                                             without partitions; go on after a failure
  history [<job>] [--status s1,s2] [--before <id>] [--limit <n>] [--json]
                                             recorded runs, newest first, one page at a time
  logs <run-id>                              what a run logged, and its error
  start                                      run the scheduler in the foreground: cron slots,
                                             catch-up after downtime, console requests (Ctrl-C stops)

Times are UTC: RFC 3339 (2024-03-01T14:00:00Z), or 2024-03-01, or 2024-03-01T14.
Exit codes: 0 ok, 1 a run failed, 2 bad usage.
`;

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: ProgressSink;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); used by `start`. */
  readonly stopSignal?: Promise<string>;
  /** Port of `start`'s /health and /metrics: JOBS_METRICS_PORT when absent, 0 any free one, null none. */
  readonly healthPort?: number | null;
}

export { UsageError };

export interface Parsed {
  readonly command: string;
  readonly positional: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
}

const VALUE_FLAGS = new Set(["--at", "--from", "--to", "--limit", "--status", "--before"]);
const BOOLEAN_FLAGS = new Set(["--json", "--continue-on-error"]);

export function parseArgs(argv: readonly string[]): Parsed {
  const [command = "help", ...rest] = argv;
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg.startsWith("--")) {
      const [name = arg, inline] = arg.split("=", 2) as [string, string | undefined];
      if (VALUE_FLAGS.has(name)) {
        const value = inline ?? rest[++i];
        if (value === undefined || value.startsWith("--")) throw new UsageError(`${name} needs a value`);
        flags.set(name, value);
      } else if (BOOLEAN_FLAGS.has(name)) {
        flags.set(name, true);
      } else {
        throw new UsageError(`unknown option ${name}`);
      }
    } else {
      positional.push(arg);
    }
  }
  return { command, positional, flags };
}

/** A UTC instant from RFC 3339, a date (`2024-03-01`) or a date and hour (`2024-03-01T14`). */
export function parseUtcTime(text: string, what: string): Date {
  const dateOnly = /^(\d{4}-\d{2}-\d{2})$/.exec(text);
  const dateHour = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/.exec(text);
  const full = dateOnly
    ? `${dateOnly[1]}T00:00:00Z`
    : dateHour
      ? `${dateHour[1]}T${dateHour[2]}:00:00Z`
      : text;
  try {
    return new Date(Number(parseRfc3339Micros(full) / 1000n));
  } catch (err) {
    if (err instanceof TimeFormatError) {
      throw new UsageError(
        `${what} ${JSON.stringify(text)}: expected RFC 3339 (2024-03-01T14:00:00Z), 2024-03-01 or 2024-03-01T14`,
      );
    }
    throw err;
  }
}

export async function runJobsCli(
  argv: readonly string[],
  options: { config: Config; jobs: readonly JobDefinition[]; log: Logger; io: CliIo; scheduler?: Scheduler },
): Promise<number> {
  const { io } = options;
  if (wantsHelp(argv) || argv.length === 0 || argv[0] === "help") {
    io.out(JOBS_USAGE);
    return 0;
  }
  const refuse = (message: string): number => {
    io.err.write(`${usageLine("jobs", message)}\n`);
    return 2;
  };
  try {
    const parsed = parseArgs(argv);
    switch (parsed.command) {
      case "history":
        return history(options.config, parsed, io);
      case "logs":
        return logs(options.config, parsed, io);
      case "list":
      case "run":
      case "backfill":
      case "start":
        break;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(parsed.command)}`);
    }
    // Check the registry and the job named before anything opens or registers in the history.
    const registry = new JobRegistry(options.jobs);
    if (parsed.command === "run" || parsed.command === "backfill") {
      const name = parsed.positional[0];
      if (!name) throw new UsageError(`${parsed.command}: which job? (bun run jobs list shows them)`);
      registry.get(name);
    }
    const scheduler = options.scheduler ?? createScheduler(options.config, options.jobs, options.log);
    try {
      switch (parsed.command) {
        case "list":
          return list(scheduler, options.config, parsed, io);
        case "run":
          return await runOne(scheduler, parsed, io);
        case "backfill":
          return await backfill(scheduler, parsed, io);
        default:
          return await start(scheduler, options.config, io);
      }
    } finally {
      await scheduler.stop();
    }
  } catch (err) {
    if (err instanceof JobRegistryError) {
      io.err.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || err instanceof UnknownJobError || err instanceof RangeError)
      return refuse(err.message);
    throw err;
  }
}

async function runOne(scheduler: Scheduler, parsed: Parsed, io: CliIo): Promise<number> {
  const name = parsed.positional[0];
  if (!name) throw new UsageError("run: which job? (bun run jobs list shows them)");
  const at = parsed.flags.get("--at");
  const scheduledFor = typeof at === "string" ? parseUtcTime(at, "--at") : undefined;
  await scheduler.start({ schedule: false, catchUp: false, requests: false });
  const outcome = await scheduler.trigger(name, scheduledFor ? { scheduledFor } : {});
  const rows = outcome.rows === undefined ? "" : ` rows=${outcome.rows}`;
  io.out(
    `${name} ${outcome.status} attempts=${outcome.attempts}${rows}${outcome.error ? ` error=${outcome.error}` : ""}`,
  );
  return outcome.status === "succeeded" ? 0 : 1;
}

async function backfill(scheduler: Scheduler, parsed: Parsed, io: CliIo): Promise<number> {
  const name = parsed.positional[0];
  if (!name) throw new UsageError("backfill: which job? (bun run jobs list shows them)");
  const fromText = parsed.flags.get("--from");
  const toText = parsed.flags.get("--to");
  if (typeof fromText !== "string" || typeof toText !== "string")
    throw new UsageError("backfill needs --from and --to");
  const from = parseUtcTime(fromText, "--from");
  const to = parseUtcTime(toText, "--to");
  await scheduler.start({ schedule: false, catchUp: false, requests: false });
  let bar: ReturnType<typeof createProgressBar> | undefined;
  const outcome = await scheduler.backfill(name, from, to, {
    continueOnError: parsed.flags.has("--continue-on-error"),
    onProgress: (p) => {
      bar ??= createProgressBar({ label: `backfill ${name}`, total: p.total, sink: io.err });
      const failed = p.last && p.last.status !== "succeeded" ? `${p.last.status}: ${p.last.error ?? ""}` : "";
      bar.update(p.done, failed || (p.current ? `next ${p.current.from.toISOString()}` : ""));
    },
  });
  bar?.finish(outcome.succeeded + outcome.failed);
  io.out(
    `${name} backfill ${from.toISOString()}..${to.toISOString()}: ${outcome.succeeded}/${outcome.ranges} ranges succeeded, ${outcome.failed} failed${outcome.stoppedEarly ? " (stopped at the first failure; --continue-on-error goes on)" : ""}`,
  );
  for (const failed of outcome.outcomes.filter((o) => o.status !== "succeeded")) {
    io.out(`  ${failed.scheduledFor.toISOString()} ${failed.status}: ${failed.error ?? ""}`);
  }
  return outcome.failed === 0 && !outcome.stoppedEarly ? 0 : 1;
}

async function start(scheduler: Scheduler, config: Config, io: CliIo): Promise<number> {
  await scheduler.start();
  io.out(
    `scheduler running ${scheduler.jobNames().length} job(s): ${scheduler.jobNames().join(", ") || "none"}`,
  );
  const port = io.healthPort === undefined ? config.ports.jobsMetrics : io.healthPort;
  const history = port === null ? undefined : RunHistory.open(historyPath(config.stateDir));
  const server = history && port !== null ? serveSchedulerHealth(scheduler, history, port) : undefined;
  if (server) io.out(`health and metrics on http://127.0.0.1:${server.port}/health`);
  try {
    const signal = await (io.stopSignal ?? new Promise<string>(() => undefined));
    io.out(`stopping (${signal})`);
    return 0;
  } finally {
    server?.stop();
    history?.close();
  }
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function processStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}
