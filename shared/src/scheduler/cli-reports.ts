/**
 * The read-only `jobs` commands: `list` (the jobs of the state directory it reads: this
 * configuration's, and those other processes registered there), `history` (runs filtered and paged)
 * and `logs` (what one run logged).
 */

import { UsageError } from "../cli.ts";
import type { Config } from "../config.ts";
import type { CliIo, Parsed } from "./cli.ts";
import { historyPath, type OwnerRecord, parseStatuses, RunHistory, type RunRecord } from "./history.ts";
import { formatDuration } from "./progress.ts";
import type { Scheduler } from "./scheduler.ts";

function withHistory<T>(config: Config, fn: (history: RunHistory) => T): T {
  const history = RunHistory.open(historyPath(config.stateDir));
  try {
    return fn(history);
  } finally {
    history.close();
  }
}

const iso = (micros: number): string => new Date(micros / 1000).toISOString();

export function list(scheduler: Scheduler, config: Config, parsed: Parsed, io: CliIo): number {
  return withHistory(config, (history) => {
    const local = scheduler.status();
    const localNames = new Set(local.map((s) => s.spec.name));
    const last = new Map(history.lastFinishedPerJob().map((r) => [r.job, r]));
    // The newest registration of each job by a process of this state directory.
    const owners = history.owners.list(200);
    const registeredBy = new Map<string, OwnerRecord>();
    for (const o of owners)
      for (const j of o.jobs) if (!registeredBy.has(j.name)) registeredBy.set(j.name, o);
    const ownerText = (o: OwnerRecord | undefined): string => {
      if (!o) return "";
      const state =
        o.stoppedAt !== null
          ? "stopped"
          : history.owners.alive(o, { staleAfterMs: 15_000 })
            ? "running"
            : "dead";
      return `process ${o.pid} on ${o.host} (${state})`;
    };
    const rows = [
      ...local.map((s) => ({
        ...s.spec,
        source: "configuration",
        nextSlot: s.nextSlot?.toISOString() ?? null,
        last: s.last,
        owner: ownerText(registeredBy.get(s.spec.name)),
      })),
      ...[...registeredBy.entries()]
        .filter(([name]) => !localNames.has(name))
        .map(([name, o]) => {
          const spec = o.jobs.find((j) => j.name === name);
          return {
            name,
            pattern: spec?.pattern ?? "",
            description: spec?.description ?? "",
            source: "state directory",
            nextSlot: null,
            last: last.get(name),
            owner: ownerText(o),
          };
        }),
    ];
    if (parsed.flags.has("--json")) {
      for (const r of rows) {
        const { last: run, ...rest } = r;
        io.out(
          JSON.stringify({
            ...rest,
            lastStatus: run?.status ?? null,
            lastRunAt: run ? iso(run.startedAt) : null,
          }),
        );
      }
      return 0;
    }
    io.out(
      `jobs of state directory ${config.stateDir}: ${local.length} in this configuration, ${rows.length - local.length} registered there by other processes only`,
    );
    if (rows.length === 0) return 0;
    io.out(
      table(
        ["job", "pattern (UTC)", "next slot", "last run", "from", "registered by", "description"],
        rows.map((r) => [
          r.name,
          r.pattern,
          r.nextSlot ?? "-",
          r.last ? `${r.last.status} ${iso(r.last.startedAt)}` : "never ran",
          r.source,
          r.owner || "-",
          r.description,
        ]),
      ),
    );
    return 0;
  });
}

export function history(config: Config, parsed: Parsed, io: CliIo): number {
  const limit = intFlag(parsed, "--limit", 1, 10_000, 20);
  const before = intFlag(parsed, "--before", 1, Number.MAX_SAFE_INTEGER, 0);
  const statusText = parsed.flags.get("--status");
  let statuses: ReturnType<typeof parseStatuses> = [];
  try {
    statuses = typeof statusText === "string" ? parseStatuses(statusText) : [];
  } catch (err) {
    throw new UsageError(`--status: ${(err as Error).message}`);
  }
  const job = parsed.positional[0];
  return withHistory(config, (store) => {
    const filter = { ...(job ? { job } : {}), statuses };
    const runs = store.recentRuns({ ...filter, limit, ...(before ? { beforeId: before } : {}) });
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
          iso(r.scheduledFor),
          r.trigger,
          r.status,
          String(r.attempt),
          duration(r),
          r.rows === null ? "" : String(r.rows),
          (r.error ?? "").slice(0, 80),
        ]),
      ),
    );
    const oldest = runs.at(-1);
    if (oldest && store.recentRuns({ ...filter, limit: 1, beforeId: oldest.id }).length > 0) {
      const args = [
        job,
        statusText ? `--status ${statusText}` : undefined,
        `--limit ${limit}`,
        `--before ${oldest.id}`,
      ];
      io.out(
        `${store.countRuns(filter)} runs match; the next page: bun run jobs history ${args.filter(Boolean).join(" ")}`,
      );
    }
    return 0;
  });
}

export function logs(config: Config, parsed: Parsed, io: CliIo): number {
  const id = Number(parsed.positional[0]);
  if (!Number.isInteger(id) || id < 1)
    throw new UsageError("logs: which run? give its id (bun run jobs history shows them)");
  return withHistory(config, (store) => {
    const run = store.run(id);
    if (!run) throw new UsageError(`no run ${id} in ${store.path}`);
    io.out(
      `run ${run.id} of ${run.job}: ${run.status}, attempt ${run.attempt}, slot ${iso(run.scheduledFor)}, ${duration(run)}`,
    );
    for (const line of store.runLogs(id)) io.out(`${iso(line.at)} ${line.level.padEnd(5)} ${line.message}`);
    if (run.error) io.out(`error: ${run.error}`);
    return 0;
  });
}

function intFlag(parsed: Parsed, name: string, min: number, max: number, fallback: number): number {
  const text = parsed.flags.get(name);
  if (typeof text !== "string") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name}: expected ${min} to ${max}`);
  return n;
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
