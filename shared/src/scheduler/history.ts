/**
 * Persistent run history in SQLite (`<stateDir>/scheduler/runs.sqlite`, bun:sqlite, WAL), shared by
 * every process that runs jobs and by the console that shows them: `runs` (one row per attempt:
 * start, end, status, rows, error, progress) with their log lines (`run_logs`, bounded per run,
 * pruned with the runs), `owners` and `locks` (owners.ts), `requests` (requests.ts). Times are epoch
 * microseconds (UTC) stored as integers.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import {
  jsonSafe,
  nowUs,
  RUN_STATUSES,
  type RunRecord,
  type RunRow,
  type RunStatus,
  type RunTrigger,
  SCHEMA,
  toRun,
} from "./history-schema.ts";
import { OwnerRegistry } from "./owners.ts";
import { RequestQueue } from "./requests.ts";

export type {
  JobSpec,
  OwnerLiveness,
  OwnerRecord,
  RequestKind,
  RequestRecord,
  RequestStatus,
  RunRecord,
  RunStatus,
  RunTrigger,
} from "./history-schema.ts";
export { RUN_STATUSES, RUN_TRIGGERS } from "./history-schema.ts";
export { pidAlive } from "./owners.ts";

/** Log lines kept per run, and characters per line. */
export const MAX_LOG_LINES = 500;
export const MAX_LOG_CHARS = 2000;

export interface RunLogLine {
  readonly seq: number;
  readonly at: number;
  readonly level: string;
  readonly message: string;
}

/** Which runs a listing shows. */
export interface RunFilter {
  readonly job?: string;
  readonly statuses?: readonly RunStatus[];
  readonly trigger?: RunTrigger;
}

type FilterParams = { job: string | null; trigger: string | null; statuses: string | null };

const FILTER = `($job IS NULL OR job = $job) AND ($trigger IS NULL OR trigger = $trigger)
  AND ($statuses IS NULL OR status IN (SELECT value FROM json_each($statuses)))`;

function filterParams(f: RunFilter): FilterParams {
  return {
    job: f.job ?? null,
    trigger: f.trigger ?? null,
    statuses: f.statuses && f.statuses.length > 0 ? JSON.stringify(f.statuses) : null,
  };
}

/** Where the run history lives for a given state directory. */
export function historyPath(stateDir: string): string {
  return join(stateDir, "scheduler", "runs.sqlite");
}

export class RunHistory {
  readonly host = hostname();
  readonly owners: OwnerRegistry;
  readonly requests: RequestQueue;

  private constructor(
    readonly db: Database,
    readonly path: string,
  ) {
    this.owners = new OwnerRegistry(db, this.host);
    this.requests = new RequestQueue(db);
  }

  /** Opens (creating if needed) the history. */
  static open(path: string): RunHistory {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.transaction(() => {
      for (const stmt of SCHEMA.split(";")) if (stmt.trim()) db.run(stmt);
    })();
    return new RunHistory(db, path);
  }

  close(): void {
    this.db.close();
  }

  startRun(input: {
    job: string;
    scheduledFor: number;
    trigger: RunTrigger;
    rangeFrom?: number | null;
    rangeTo?: number | null;
    attempt: number;
    owner: string;
  }): number {
    const row = this.db
      .query<{ id: number }, Record<string, string | number | null>>(
        `INSERT INTO runs (job, scheduled_for, trigger, range_from, range_to, started_at, status, attempt, owner)
         VALUES ($job, $scheduledFor, $trigger, $rangeFrom, $rangeTo, $now, 'running', $attempt, $owner) RETURNING id`,
      )
      .get({
        job: input.job,
        scheduledFor: input.scheduledFor,
        trigger: input.trigger,
        rangeFrom: input.rangeFrom ?? null,
        rangeTo: input.rangeTo ?? null,
        now: nowUs(),
        attempt: input.attempt,
        owner: input.owner,
      });
    if (!row) throw new Error(`run history: could not record the start of ${input.job}`);
    return row.id;
  }

  finishRun(
    id: number,
    result: {
      status: Exclude<RunStatus, "running">;
      rows?: number | null;
      error?: string | null;
      detail?: unknown;
    },
  ): void {
    this.db
      .query(
        "UPDATE runs SET status = $status, ended_at = $now, rows = $rows, error = $error, detail = $detail WHERE id = $id AND status = 'running'",
      )
      .run({
        id,
        status: result.status,
        now: nowUs(),
        rows: result.rows ?? null,
        error: result.error ? result.error.slice(0, 4000) : null,
        detail: result.detail === undefined ? null : JSON.stringify(result.detail, jsonSafe).slice(0, 16_000),
      });
  }

  /** A run that never started (overlap, failed dependency): recorded so the history shows why. */
  recordSkipped(input: {
    job: string;
    scheduledFor: number;
    trigger: RunTrigger;
    owner: string;
    reason: string;
  }): number {
    const id = this.startRun({ ...input, attempt: 0 });
    this.finishRun(id, { status: "skipped", error: input.reason });
    return id;
  }

  progress(id: number, done: number, total: number | undefined, note: string | undefined): void {
    this.db
      .query(
        "UPDATE runs SET progress_done = $done, progress_total = $total, progress_note = $note WHERE id = $id",
      )
      .run({ id, done, total: total ?? null, note: note?.slice(0, 500) ?? null });
  }

  run(id: number): RunRecord | undefined {
    const row = this.db.query<RunRow, { id: number }>("SELECT * FROM runs WHERE id = $id").get({ id });
    return row ? toRun(row) : undefined;
  }

  /** Runs newest first, filtered, one page at a time (`beforeId`: the last id of the previous page). */
  recentRuns(options: RunFilter & { limit?: number; beforeId?: number } = {}): RunRecord[] {
    return this.db
      .query<RunRow, FilterParams & { limit: number; before: number | null }>(
        `SELECT * FROM runs WHERE ${FILTER} AND ($before IS NULL OR id < $before) ORDER BY id DESC LIMIT $limit`,
      )
      .all({
        ...filterParams(options),
        limit: Math.min(options.limit ?? 100, 10_000),
        before: options.beforeId ?? null,
      })
      .map(toRun);
  }

  /** How many runs match the filter (for paging). */
  countRuns(options: RunFilter = {}): number {
    return (
      this.db
        .query<{ n: number }, FilterParams>(`SELECT count(*) AS n FROM runs WHERE ${FILTER}`)
        .get(filterParams(options))?.n ?? 0
    );
  }

  /** The newest slot of `job` that a scheduled or catch-up run completed successfully. */
  lastSuccessfulSlot(job: string): number | undefined {
    const row = this.db
      .query<{ slot: number | null }, { job: string }>(
        "SELECT max(scheduled_for) AS slot FROM runs WHERE job = $job AND status = 'succeeded' AND trigger IN ('schedule', 'catch-up')",
      )
      .get({ job });
    return row?.slot ?? undefined;
  }

  lastSuccessAt(job: string): number | undefined {
    const row = this.db
      .query<{ at: number | null }, { job: string }>(
        "SELECT max(ended_at) AS at FROM runs WHERE job = $job AND status = 'succeeded'",
      )
      .get({ job });
    return row?.at ?? undefined;
  }

  /** Run counts per job and status (for metrics). */
  countsByStatus(): { job: string; status: RunStatus; count: number }[] {
    return this.db
      .query<{ job: string; status: RunStatus; count: number }, []>(
        "SELECT job, status, count(*) AS count FROM runs GROUP BY job, status ORDER BY job, status",
      )
      .all();
  }

  /** The newest finished attempt per job (skips excluded): what the job last did. */
  lastFinishedPerJob(): RunRecord[] {
    return this.db
      .query<RunRow, []>(
        `SELECT r.* FROM runs r JOIN (
           SELECT job, max(id) AS id FROM runs WHERE status NOT IN ('running', 'skipped') GROUP BY job
         ) last ON last.id = r.id ORDER BY r.job`,
      )
      .all()
      .map(toRun);
  }

  jobNames(): string[] {
    return this.db
      .query<{ job: string }, []>("SELECT DISTINCT job FROM runs ORDER BY job")
      .all()
      .map((r) => r.job);
  }

  /** Deletes finished runs (with their logs) and requests older than `beforeMicros`; returns how many runs went. */
  prune(beforeMicros: number): number {
    return this.db.transaction(() => {
      const runs = this.db
        .query("DELETE FROM runs WHERE status != 'running' AND started_at < $before")
        .run({ before: beforeMicros }).changes;
      this.db.run("DELETE FROM run_logs WHERE run_id NOT IN (SELECT id FROM runs)");
      this.db
        .query("DELETE FROM requests WHERE status IN ('done', 'failed') AND requested_at < $before")
        .run({
          before: beforeMicros,
        });
      this.db.query("DELETE FROM owners WHERE stopped_at IS NOT NULL AND stopped_at < $before").run({
        before: beforeMicros,
      });
      return runs;
    })();
  }

  // ---- per-run logs ----

  /**
   * Appends a log line to a run: at most MAX_LOG_LINES lines of MAX_LOG_CHARS each are kept, then one
   * line saying that later ones were dropped.
   */
  appendLog(runId: number, level: string, message: string): void {
    const n =
      this.db
        .query<{ n: number }, { run: number }>("SELECT count(*) AS n FROM run_logs WHERE run_id = $run")
        .get({ run: runId })?.n ?? 0;
    if (n > MAX_LOG_LINES) return;
    const text =
      n === MAX_LOG_LINES
        ? `later lines dropped: a run keeps at most ${MAX_LOG_LINES} log lines`
        : message.slice(0, MAX_LOG_CHARS);
    this.db
      .query("INSERT INTO run_logs (run_id, seq, at, level, message) VALUES ($run, $seq, $at, $level, $text)")
      .run({ run: runId, seq: n + 1, at: nowUs(), level: n === MAX_LOG_LINES ? "warn" : level, text });
  }

  runLogs(runId: number): RunLogLine[] {
    return this.db
      .query<RunLogLine, { run: number }>(
        "SELECT seq, at, level, message FROM run_logs WHERE run_id = $run ORDER BY seq",
      )
      .all({ run: runId });
  }
}

/** A status filter from text such as `failed,timed_out`; unknown words are refused by name. */
export function parseStatuses(text: string): RunStatus[] {
  const out: RunStatus[] = [];
  for (const word of text
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean)) {
    if (!(RUN_STATUSES as readonly string[]).includes(word))
      throw new RangeError(
        `status ${JSON.stringify(word.slice(0, 40))}: expected one of ${RUN_STATUSES.join(", ")}`,
      );
    out.push(word as RunStatus);
  }
  return out;
}
