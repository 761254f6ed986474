/**
 * Manual runs and backfills asked for by the console, queued in the run history and claimed by the
 * scheduler process that owns the job (it polls), so a button works whichever process runs the job.
 */
import type { Database } from "bun:sqlite";
import {
  nowUs,
  type RequestKind,
  type RequestRecord,
  type RequestRow,
  type RequestStatus,
  toRequest,
} from "./history-schema.ts";

export class RequestQueue {
  constructor(private readonly db: Database) {}

  add(input: {
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
  claim(ownerId: string, jobs: readonly string[], limit = 10): RequestRecord[] {
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

  finish(id: number, status: "done" | "failed", message: string): void {
    this.db
      .query("UPDATE requests SET status = $status, finished_at = $now, message = $message WHERE id = $id")
      .run({ id, status, now: nowUs(), message: message.slice(0, 2000) });
  }

  list(options: { limit?: number; status?: RequestStatus } = {}): RequestRecord[] {
    return this.db
      .query<RequestRow, { limit: number; status: string | null }>(
        "SELECT * FROM requests WHERE ($status IS NULL OR status = $status) ORDER BY id DESC LIMIT $limit",
      )
      .all({ limit: Math.min(options.limit ?? 50, 1000), status: options.status ?? null })
      .map(toRequest);
  }

  get(id: number): RequestRecord | undefined {
    const row = this.db
      .query<RequestRow, { id: number }>("SELECT * FROM requests WHERE id = $id")
      .get({ id });
    return row ? toRequest(row) : undefined;
  }
}
