/**
 * `bun run jobs list|run|backfill|history|start`: the command line over a job registry. Each app's
 * jobs CLI builds its registry and hands it here; exit codes are 0 (ok), 1 (a job failed) and 2
 * (bad usage or configuration).
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { parseRfc3339Micros, TimeFormatError } from "../time.ts";
import { historyPath, RunHistory, type RunRecord } from "./history.ts";
import type { JobDefinition } from "./job.ts";
import { createProgressBar, formatDuration, type ProgressSink } from "./progress.ts";
import { createScheduler, JobRegistryError, type Scheduler, UnknownJobError } from "./scheduler.ts";

export const JOBS_USAGE = `Usage: bun run jobs <command>

  list [--json]                              registered jobs: pattern, next slot, last run
  run <job> [--at <time>]                    run a job now (recorded as a manual run)
  backfill <job> --from <time> --to <time>   re-run a job over [from, to), one run per slot
           [--continue-on-error]             go on after a failed slot instead of stopping
  history [<job>] [--limit <n>] [--json]     recent runs, newest first
  start                                      run the scheduler in the foreground: cron slots,
                                             catch-up after downtime, console requests (Ctrl-C stops)

Times are UTC: RFC 3339 (2024-03-01T14:00:00Z), or 2024-03-01, or 2024-03-01T14.
`;

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: ProgressSink;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); used by `start`. */
  readonly stopSignal?: Promise<string>;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

interface Parsed {
  readonly command: string;
  readonly positional: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
}

const VALUE_FLAGS = new Set(["--at", "--from", "--to", "--limit"]);
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
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    io.err.write(`${(err as Error).message}\n\n${JOBS_USAGE}`);
    return 2;
  }
  if (parsed.command === "help" || parsed.flags.has("--help")) {
    io.out(JOBS_USAGE);
    return 0;
  }
  let scheduler: Scheduler;
  try {
    scheduler = options.scheduler ?? createScheduler(options.config, options.jobs, options.log);
  } catch (err) {
    if (err instanceof JobRegistryError) {
      io.err.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    switch (parsed.command) {
      case "list":
        return list(scheduler, parsed, io);
      case "history":
        return history(options.config, parsed, io);
      case "run":
        return await runOne(scheduler, parsed, io);
      case "backfill":
        return await backfill(scheduler, parsed, io);
      case "start":
        return await start(scheduler, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(parsed.command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof UnknownJobError || err instanceof RangeError) {
      io.err.write(`${err.message}\n${err instanceof UsageError ? `\n${JOBS_USAGE}` : ""}`);
      return 2;
    }
    throw err;
  } finally {
    await scheduler.stop();
  }
}

function list(scheduler: Scheduler, parsed: Parsed, io: CliIo): number {
  const status = scheduler.status();
  if (parsed.flags.has("--json")) {
    for (const s of status) {
      io.out(
        JSON.stringify({
          ...s.spec,
          nextSlot: s.nextSlot?.toISOString() ?? null,
          lastStatus: s.last?.status ?? null,
          lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
        }),
      );
    }
    return 0;
  }
  if (status.length === 0) {
    io.out("no jobs registered");
    return 0;
  }
  const rows = status.map((s) => [
    s.spec.name,
    s.spec.pattern,
    s.nextSlot?.toISOString() ?? "-",
    s.last ? `${s.last.status} ${new Date(s.last.startedAt / 1000).toISOString()}` : "never ran",
    s.spec.description,
  ]);
  io.out(table(["job", "pattern (UTC)", "next slot", "last run", "description"], rows));
  return 0;
}

function history(config: Config, parsed: Parsed, io: CliIo): number {
  const limitText = parsed.flags.get("--limit");
  const limit = typeof limitText === "string" ? Number(limitText) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new UsageError("--limit: expected 1 to 10000");
  const store = RunHistory.open(historyPath(config.stateDir));
  try {
    const job = parsed.positional[0];
    const runs = store.recentRuns({ ...(job ? { job } : {}), limit });
    if (parsed.flags.has("--json")) {
      for (const r of runs) io.out(JSON.stringify(r));
      return 0;
    }
    io.out(
      table(
        ["id", "job", "slot", "trigger", "status", "attempt", "duration", "rows", "error"],
        runs.map((r) => [
          String(r.id),
          r.job,
          new Date(r.scheduledFor / 1000).toISOString(),
          r.trigger,
          r.status,
          String(r.attempt),
          duration(r),
          r.rows === null ? "" : String(r.rows),
          (r.error ?? "").slice(0, 80),
        ]),
      ),
    );
    return 0;
  } finally {
    store.close();
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

async function start(scheduler: Scheduler, io: CliIo): Promise<number> {
  await scheduler.start();
  io.out(
    `scheduler running ${scheduler.jobNames().length} job(s): ${scheduler.jobNames().join(", ") || "none"}`,
  );
  const signal = await (io.stopSignal ?? new Promise<string>(() => undefined));
  io.out(`stopping (${signal})`);
  return 0;
}

function duration(r: RunRecord): string {
  return r.endedAt === null ? "running" : formatDuration((r.endedAt - r.startedAt) / 1000);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function processStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}
