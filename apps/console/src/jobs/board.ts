/**
 * The console's view of the scheduler, read from the shared run history: registered jobs (as the
 * scheduler processes announced them), their runs, the processes that own them, and the requests
 * the console queues. A re-run or backfill button writes a request; the process that owns the job
 * picks it up within a second (see shared/src/scheduler/scheduler.ts), so the console never runs a
 * job itself and the job runs where its code and resources live.
 */

import { backfillPlan } from "@tributary/shared/scheduler/backfill";
import { parseUtcTime, UsageError } from "@tributary/shared/scheduler/cli";
import type {
  JobSpec,
  OwnerLiveness,
  OwnerRecord,
  RequestRecord,
  RunFilter,
  RunHistory,
  RunLogLine,
  RunRecord,
  RunStatus,
} from "@tributary/shared/scheduler/history";
import { cronFor, nextSlot } from "@tributary/shared/scheduler/slots";

export type ProcessState = "running" | "stopped" | "dead";

export interface ProcessView {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly state: ProcessState;
  readonly stopReason: string | null;
  readonly jobs: readonly string[];
}

export interface RunView extends RunRecord {
  /** `running` attempts whose process died read `abandoned` even before a scheduler reaps them. */
  readonly effectiveStatus: RunStatus;
  readonly durationMs: number | null;
}

export interface RunPage {
  readonly runs: readonly RunView[];
  readonly total: number;
  /** Set when older runs match: the `before` of the next page. */
  readonly nextBefore?: number;
}

export interface JobView {
  readonly spec: JobSpec;
  /** Whether a live scheduler process owns the job (and so serves its buttons). */
  readonly owned: boolean;
  readonly running: boolean;
  readonly nextSlot: string | null;
  readonly lastRun: RunView | null;
  readonly lastSuccessAt: number | null;
}

export interface JobsSummary {
  readonly jobs: readonly JobView[];
  readonly processes: readonly ProcessView[];
  /** Runs left `running` by a process that died. */
  readonly abandoned: readonly RunView[];
}

export class JobRequestError extends Error {
  override readonly name = "JobRequestError";
}

export class JobBoard {
  constructor(
    private readonly history: RunHistory,
    private readonly liveness: OwnerLiveness = { staleAfterMs: 15_000 },
    private readonly maxBackfillRanges = 10_000,
  ) {}

  processes(): ProcessView[] {
    return this.history.owners.list(50).map((o) => this.processView(o));
  }

  private processView(o: OwnerRecord): ProcessView {
    const state: ProcessState =
      o.stoppedAt !== null ? "stopped" : this.history.owners.alive(o, this.liveness) ? "running" : "dead";
    return {
      id: o.id,
      pid: o.pid,
      host: o.host,
      startedAt: o.startedAt,
      heartbeatAt: o.heartbeatAt,
      state,
      stopReason: o.stopReason,
      jobs: o.jobs.map((j) => j.name),
    };
  }

  runView(run: RunRecord, processes: readonly ProcessView[]): RunView {
    let effective: RunStatus = run.status;
    if (run.status === "running") {
      const owner = processes.find((p) => p.id === run.owner);
      if (owner?.state !== "running") effective = "abandoned";
    }
    return {
      ...run,
      effectiveStatus: effective,
      durationMs: run.endedAt === null ? null : (run.endedAt - run.startedAt) / 1000,
    };
  }

  /** Job specs: from live owners first, then the newest announcement of each job. */
  specs(
    processes: readonly ProcessView[] = this.processes(),
  ): Map<string, { spec: JobSpec; owned: boolean }> {
    const owners = this.history.owners.list(50);
    const out = new Map<string, { spec: JobSpec; owned: boolean }>();
    for (const o of owners) {
      const live = processes.find((p) => p.id === o.id)?.state === "running";
      for (const spec of o.jobs) {
        const known = out.get(spec.name);
        if (!known || (live && !known.owned))
          out.set(spec.name, { spec, owned: live || (known?.owned ?? false) });
      }
    }
    for (const name of this.history.jobNames()) {
      if (!out.has(name)) {
        out.set(name, {
          spec: {
            name,
            pattern: "",
            description: "(no scheduler has announced this job)",
            timeoutMs: 0,
            retries: 0,
            catchUp: false,
            after: [],
          },
          owned: false,
        });
      }
    }
    return out;
  }

  summary(): JobsSummary {
    const processes = this.processes();
    const specs = this.specs(processes);
    const lastRuns = new Map(this.history.lastFinishedPerJob().map((r) => [r.job, r]));
    const running = this.history.recentRuns({ limit: 200 }).filter((r) => r.status === "running");
    const runningViews = running.map((r) => this.runView(r, processes));
    const now = new Date();
    const jobs = [...specs.values()]
      .map(({ spec, owned }): JobView => {
        const liveRun = runningViews.find((r) => r.job === spec.name && r.effectiveStatus === "running");
        const last = lastRuns.get(spec.name);
        const abandoned = runningViews.find((r) => r.job === spec.name && r.effectiveStatus === "abandoned");
        const lastRun =
          abandoned && (!last || abandoned.id > last.id)
            ? abandoned
            : last
              ? this.runView(last, processes)
              : null;
        let next: string | null = null;
        if (spec.pattern) {
          try {
            next = nextSlot(cronFor(spec.pattern), now)?.toISOString() ?? null;
          } catch {
            next = null;
          }
        }
        const success = this.history.lastSuccessAt(spec.name);
        return {
          spec,
          owned,
          running: liveRun !== undefined,
          nextSlot: next,
          lastRun: liveRun ?? lastRun,
          lastSuccessAt: success ?? null,
        };
      })
      .sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
    return { jobs, processes, abandoned: runningViews.filter((r) => r.effectiveStatus === "abandoned") };
  }

  runs(options: RunFilter & { limit?: number; beforeId?: number } = {}): RunView[] {
    const processes = this.processes();
    return this.history.recentRuns(options).map((r) => this.runView(r, processes));
  }

  /** One page of the history: the runs, how many match, and the id the next (older) page starts before. */
  page(filter: RunFilter, limit: number, beforeId?: number): RunPage {
    const runs = this.runs({ ...filter, limit, ...(beforeId ? { beforeId } : {}) });
    const oldest = runs.at(-1);
    const more =
      oldest !== undefined &&
      this.history.recentRuns({ ...filter, limit: 1, beforeId: oldest.id }).length > 0;
    return {
      runs,
      total: this.history.countRuns(filter),
      ...(more && oldest ? { nextBefore: oldest.id } : {}),
    };
  }

  /** A run with its log lines, or undefined. */
  run(id: number): { run: RunView; logs: RunLogLine[] } | undefined {
    const run = this.history.run(id);
    if (!run) return undefined;
    return { run: this.runView(run, this.processes()), logs: this.history.runLogs(id) };
  }

  requests(limit = 20): RequestRecord[] {
    return this.history.requests.list({ limit });
  }

  /** Queues a manual run for the owning scheduler process. */
  requestRun(job: string, requestedBy: string): { id: number; owned: boolean } {
    const known = this.specs().get(job);
    if (!known) throw new JobRequestError(`no job named ${JSON.stringify(job)} is registered`);
    return { id: this.history.requests.add({ job, kind: "run", requestedBy }), owned: known.owned };
  }

  /** Queues a backfill over [from, to) (UTC; RFC 3339, a date, or a date and hour). */
  requestBackfill(
    job: string,
    fromText: string,
    toText: string,
    requestedBy: string,
  ): { id: number; owned: boolean; ranges: number } {
    const known = this.specs().get(job);
    if (!known) throw new JobRequestError(`no job named ${JSON.stringify(job)} is registered`);
    let from: Date;
    let to: Date;
    try {
      from = parseUtcTime(fromText.trim(), "from");
      to = parseUtcTime(toText.trim(), "to");
    } catch (err) {
      if (err instanceof UsageError) throw new JobRequestError(err.message);
      throw err;
    }
    if (!known.spec.pattern)
      throw new JobRequestError(`job ${job} has no known cron pattern to split the range`);
    let ranges: number;
    try {
      ranges = backfillPlan(known.spec, from, to, this.maxBackfillRanges).length;
    } catch (err) {
      throw new JobRequestError((err as Error).message);
    }
    const id = this.history.requests.add({
      job,
      kind: "backfill",
      rangeFrom: from.getTime() * 1000,
      rangeTo: to.getTime() * 1000,
      requestedBy,
    });
    return { id, owned: known.owned, ranges };
  }
}
