/**
 * Persistent run history in SQLite (`<stateDir>/scheduler/runs.sqlite`, bun:sqlite, WAL), shared by
 * every process that runs jobs and by the console that shows them:
 * - `runs`: one row per attempt (start, end, status, rows, error, progress);
 * - `owners`: each scheduler process with a heartbeat, so a killed process is recognised at once;
 * - `locks`: one per job while a logical run (all its attempts) is in flight, across processes;
 * - `requests`: manual runs and backfills asked for by the console, executed by the owning process.
 * Times are epoch microseconds (UTC) stored as integers.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { nowMicros } from "../time.ts";

export const RUN_STATUSES = ["running", "succeeded", "failed", "timed_out", "skipped", "abandoned"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type RunTrigger = "schedule" | "catch-up" | "manual" | "backfill";
export type RequestKind = "run" | "backfill";
export type RequestStatus = "pending" | "claimed" | "done" | "failed";

export interface RunRecord {
  readonly id: number;
  readonly job: string;
  readonly scheduledFor: number;
  readonly trigger: RunTrigger;
  readonly rangeFrom: number | null;
  readonly rangeTo: number | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly status: RunStatus;
  readonly attempt: number;
  readonly rows: number | null;
  readonly error: string | null;
  readonly detail: string | null;
  readonly owner: string;
  readonly progressDone: number | null;
  readonly progressTotal: number | null;
  readonly progressNote: string | null;
}

export interface JobSpec {
  readonly name: string;
  readonly pattern: string;
  readonly description: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly catchUp: boolean;
  readonly after: readonly string[];
}

export interface OwnerRecord {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly stoppedAt: number | null;
  readonly stopReason: string | null;
  readonly jobs: readonly JobSpec[];
}

export interface RequestRecord {
  readonly id: number;
  readonly job: string;
  readonly kind: RequestKind;
  readonly rangeFrom: number | null;
  readonly rangeTo: number | null;
  readonly requestedAt: number;
  readonly requestedBy: string;
  readonly status: RequestStatus;
  readonly claimedBy: string | null;
  readonly finishedAt: number | null;
  readonly message: string | null;
}

export interface OwnerLiveness {
  /** A heartbeat older than this means the owner is gone (when its pid cannot be checked). */
  readonly staleAfterMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job TEXT NOT NULL,
  scheduled_for INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  range_from INTEGER,
  range_to INTEGER,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  rows INTEGER,
  error TEXT,
  detail TEXT,
  owner TEXT NOT NULL,
  progress_done REAL,
  progress_total REAL,
  progress_note TEXT
);
CREATE INDEX IF NOT EXISTS runs_job_slot ON runs (job, scheduled_for);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS owners (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  stopped_at INTEGER,
  stop_reason TEXT,
  jobs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS locks (
  job TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  acquired_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job TEXT NOT NULL,
  kind TEXT NOT NULL,
  range_from INTEGER,
  range_to INTEGER,
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  status TEXT NOT NULL,
  claimed_by TEXT,
  finished_at INTEGER,
  message TEXT
);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status);
`;

interface RunRow {
  id: number;
  job: string;
  scheduled_for: number;
  trigger: RunTrigger;
  range_from: number | null;
  range_to: number | null;
  started_at: number;
  ended_at: number | null;
  status: RunStatus;
  attempt: number;
  rows: number | null;
  error: string | null;
  detail: string | null;
  owner: string;
  progress_done: number | null;
  progress_total: number | null;
  progress_note: string | null;
}

interface OwnerRow {
  id: string;
  pid: number;
  host: string;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
  stop_reason: string | null;
  jobs: string;
}

interface RequestRow {
  id: number;
  job: string;
  kind: RequestKind;
  range_from: number | null;
  range_to: number | null;
  requested_at: number;
  requested_by: string;
  status: RequestStatus;
  claimed_by: string | null;
  finished_at: number | null;
  message: string | null;
}

/** Where the run history lives for a given state directory. */
export function historyPath(stateDir: string): string {
  return join(stateDir, "scheduler", "runs.sqlite");
}

const nowUs = (): number => Number(nowMicros());

/** True when `pid` is a live process on this host (EPERM still means it exists). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class RunHistory {
  readonly host = hostname();
  private constructor(
    readonly db: Database,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the history; `readonly` for viewers that must not write runs. */
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

  // ---- owners ----

  registerOwner(id: string, jobs: readonly JobSpec[]): void {
    const now = nowUs();
    this.db
      .query(
        "INSERT INTO owners (id, pid, host, started_at, heartbeat_at, jobs) VALUES ($id, $pid, $host, $now, $now, $jobs)",
      )
      .run({ id, pid: process.pid, host: this.host, now, jobs: JSON.stringify(jobs) });
  }

  heartbeat(ownerId: string): void {
    this.db.query("UPDATE owners SET heartbeat_at = $now WHERE id = $id").run({ id: ownerId, now: nowUs() });
  }

  stopOwner(ownerId: string, reason: string): void {
    this.db
      .query(
        "UPDATE owners SET stopped_at = $now, stop_reason = $reason WHERE id = $id AND stopped_at IS NULL",
      )
      .run({ id: ownerId, now: nowUs(), reason });
  }

  owners(limit = 50): OwnerRecord[] {
    return this.db
      .query<OwnerRow, { limit: number }>("SELECT * FROM owners ORDER BY started_at DESC LIMIT $limit")
      .all({ limit })
      .map(toOwner);
  }

  /** Whether an owner still runs: pid check on this host, heartbeat age elsewhere. */
  ownerAlive(owner: OwnerRecord, liveness: OwnerLiveness): boolean {
    if (owner.stoppedAt !== null) return false;
    if (owner.host === this.host && !pidAlive(owner.pid)) return false;
    return nowUs() - owner.heartbeatAt <= liveness.staleAfterMs * 1000;
  }

  /**
   * Marks owners that died without stopping as stopped, their running attempts `abandoned` and
   * releases their locks. Returns the abandoned runs.
   */
  reapDeadOwners(liveness: OwnerLiveness): RunRecord[] {
    const abandoned: RunRecord[] = [];
    this.db.transaction(() => {
      const open = this.db
        .query<OwnerRow, []>("SELECT * FROM owners WHERE stopped_at IS NULL")
        .all()
        .map(toOwner);
      for (const owner of open) {
        if (this.ownerAlive(owner, liveness)) continue;
        const reason = `process ${owner.pid} on ${owner.host} died (last heartbeat ${new Date(owner.heartbeatAt / 1000).toISOString()})`;
        this.stopOwner(owner.id, reason);
        const runs = this.db
          .query<RunRow, { owner: string }>("SELECT * FROM runs WHERE owner = $owner AND status = 'running'")
          .all({ owner: owner.id });
        for (const run of runs) {
          this.db
            .query("UPDATE runs SET status = 'abandoned', ended_at = $now, error = $error WHERE id = $id")
            .run({ id: run.id, now: nowUs(), error: `abandoned: ${reason}` });
          abandoned.push({ ...toRun(run), status: "abandoned", error: `abandoned: ${reason}` });
        }
        this.db.query("DELETE FROM locks WHERE owner = $owner").run({ owner: owner.id });
        this.db
          .query(
            "UPDATE requests SET status = 'failed', finished_at = $now, message = $message WHERE claimed_by = $owner AND status = 'claimed'",
          )
          .run({ owner: owner.id, now: nowUs(), message: `abandoned: ${reason}` });
      }
    })();
    return abandoned;
  }

  // ---- locks (no overlapping runs of a job, across processes) ----

  /** Takes the job's lock unless a live owner holds it; a dead owner's lock is taken over. */
  tryLock(
    job: string,
    ownerId: string,
    liveness: OwnerLiveness,
  ): { acquired: true } | { acquired: false; holder: string } {
    return this.db
      .transaction(() => {
        const held = this.db
          .query<{ owner: string }, { job: string }>("SELECT owner FROM locks WHERE job = $job")
          .get({ job });
        if (held) {
          const owner = this.db
            .query<OwnerRow, { id: string }>("SELECT * FROM owners WHERE id = $id")
            .get({ id: held.owner });
          if (owner && this.ownerAlive(toOwner(owner), liveness)) {
            return { acquired: false as const, holder: `process ${owner.pid} on ${owner.host}` };
          }
        }
        this.db
          .query("INSERT OR REPLACE INTO locks (job, owner, acquired_at) VALUES ($job, $owner, $now)")
          .run({ job, owner: ownerId, now: nowUs() });
        return { acquired: true as const };
      })
      .immediate();
  }

  unlock(job: string, ownerId: string): void {
    this.db.query("DELETE FROM locks WHERE job = $job AND owner = $owner").run({ job, owner: ownerId });
  }

  // ---- runs ----

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

  recentRuns(options: { job?: string; limit?: number; beforeId?: number } = {}): RunRecord[] {
    return this.db
      .query<RunRow, { job: string | null; limit: number; before: number | null }>(
        `SELECT * FROM runs WHERE ($job IS NULL OR job = $job) AND ($before IS NULL OR id < $before)
         ORDER BY id DESC LIMIT $limit`,
      )
      .all({
        job: options.job ?? null,
        limit: Math.min(options.limit ?? 100, 10_000),
        before: options.beforeId ?? null,
      })
      .map(toRun);
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

  /** Deletes finished runs and requests older than `beforeMicros`; returns how many runs went. */
  prune(beforeMicros: number): number {
    return this.db.transaction(() => {
      const runs = this.db
        .query("DELETE FROM runs WHERE status != 'running' AND started_at < $before")
        .run({ before: beforeMicros }).changes;
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

  // ---- requests (console → owning scheduler) ----

  request(input: {
    job: string;
    kind: RequestKind;
    rangeFrom?: number;
    rangeTo?: number;
    requestedBy: string;
  }): number {
    const row = this.db
      .query<{ id: number }, Record<string, string | number | null>>(
        `INSERT INTO requests (job, kind, range_from, range_to, requested_at, requested_by, status)
         VALUES ($job, $kind, $from, $to, $now, $by, 'pending') RETURNING id`,
      )
      .get({
        job: input.job,
        kind: input.kind,
        from: input.rangeFrom ?? null,
        to: input.rangeTo ?? null,
        now: nowUs(),
        by: input.requestedBy.slice(0, 200),
      });
    if (!row) throw new Error(`run history: could not record the request for ${input.job}`);
    return row.id;
  }

  /** Atomically claims pending requests for the given jobs (oldest first). */
  claimRequests(ownerId: string, jobs: readonly string[], limit = 10): RequestRecord[] {
    if (jobs.length === 0) return [];
    return this.db
      .transaction(() => {
        const placeholders = jobs.map((_, i) => `$j${i}`).join(", ");
        const params: Record<string, string | number> = { limit };
        jobs.forEach((j, i) => {
          params[`j${i}`] = j;
        });
        const pending = this.db
          .query<RequestRow, Record<string, string | number>>(
            `SELECT * FROM requests WHERE status = 'pending' AND job IN (${placeholders}) ORDER BY id LIMIT $limit`,
          )
          .all(params);
        for (const r of pending) {
          this.db
            .query("UPDATE requests SET status = 'claimed', claimed_by = $owner WHERE id = $id")
            .run({ id: r.id, owner: ownerId });
        }
        return pending.map((r) => toRequest({ ...r, status: "claimed", claimed_by: ownerId }));
      })
      .immediate();
  }

  finishRequest(id: number, status: "done" | "failed", message: string): void {
    this.db
      .query("UPDATE requests SET status = $status, finished_at = $now, message = $message WHERE id = $id")
      .run({ id, status, now: nowUs(), message: message.slice(0, 2000) });
  }

  requests(options: { limit?: number; status?: RequestStatus } = {}): RequestRecord[] {
    return this.db
      .query<RequestRow, { limit: number; status: string | null }>(
        "SELECT * FROM requests WHERE ($status IS NULL OR status = $status) ORDER BY id DESC LIMIT $limit",
      )
      .all({ limit: Math.min(options.limit ?? 50, 1000), status: options.status ?? null })
      .map(toRequest);
  }

  requestById(id: number): RequestRecord | undefined {
    const row = this.db
      .query<RequestRow, { id: number }>("SELECT * FROM requests WHERE id = $id")
      .get({ id });
    return row ? toRequest(row) : undefined;
  }
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    job: r.job,
    scheduledFor: r.scheduled_for,
    trigger: r.trigger,
    rangeFrom: r.range_from,
    rangeTo: r.range_to,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    attempt: r.attempt,
    rows: r.rows,
    error: r.error,
    detail: r.detail,
    owner: r.owner,
    progressDone: r.progress_done,
    progressTotal: r.progress_total,
    progressNote: r.progress_note,
  };
}

function toOwner(r: OwnerRow): OwnerRecord {
  let jobs: JobSpec[] = [];
  try {
    jobs = JSON.parse(r.jobs) as JobSpec[];
  } catch {
    jobs = [];
  }
  return {
    id: r.id,
    pid: r.pid,
    host: r.host,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    stoppedAt: r.stopped_at,
    stopReason: r.stop_reason,
    jobs,
  };
}

function toRequest(r: RequestRow): RequestRecord {
  return {
    id: r.id,
    job: r.job,
    kind: r.kind,
    rangeFrom: r.range_from,
    rangeTo: r.range_to,
    requestedAt: r.requested_at,
    requestedBy: r.requested_by,
    status: r.status,
    claimedBy: r.claimed_by,
    finishedAt: r.finished_at,
    message: r.message,
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
