/**
 * The run history's SQLite schema and row shapes: one place for the tables every part of the
 * history (runs and their logs, owners and locks, requests) reads and writes.
 */
import { nowMicros } from "../time.ts";

export const RUN_STATUSES = ["running", "succeeded", "failed", "timed_out", "skipped", "abandoned"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_TRIGGERS = ["schedule", "catch-up", "manual", "backfill"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
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
  /** Absent in records of older processes: backfills then go by cron slot. */
  readonly partitionedBy?: "hour" | "day";
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

export const SCHEMA = `
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
CREATE TABLE IF NOT EXISTS run_logs (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
`;

export interface RunRow {
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

export interface OwnerRow {
  id: string;
  pid: number;
  host: string;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
  stop_reason: string | null;
  jobs: string;
}

export interface RequestRow {
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

export const nowUs = (): number => Number(nowMicros());

export function toRun(r: RunRow): RunRecord {
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

export function toOwner(r: OwnerRow): OwnerRecord {
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

export function toRequest(r: RequestRow): RequestRecord {
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

export function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
