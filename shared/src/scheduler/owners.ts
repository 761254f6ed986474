/**
 * Scheduler processes and job locks in the run history: each process registers and heartbeats, so a
 * killed one is recognised at once on its host (pid check) or by its silent heartbeat elsewhere; a
 * job's lock is held by one live process for all attempts of a run, and a dead owner's runs are
 * marked abandoned and its locks and claimed requests released.
 */
import type { Database } from "bun:sqlite";
import {
  type JobSpec,
  nowUs,
  type OwnerLiveness,
  type OwnerRecord,
  type OwnerRow,
  type RunRecord,
  type RunRow,
  toOwner,
  toRun,
} from "./history-schema.ts";

/** True when `pid` is a live process on this host (EPERM still means it exists). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class OwnerRegistry {
  constructor(
    private readonly db: Database,
    readonly host: string,
  ) {}

  register(id: string, jobs: readonly JobSpec[]): void {
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

  stop(ownerId: string, reason: string): void {
    this.db
      .query(
        "UPDATE owners SET stopped_at = $now, stop_reason = $reason WHERE id = $id AND stopped_at IS NULL",
      )
      .run({ id: ownerId, now: nowUs(), reason });
  }

  list(limit = 50): OwnerRecord[] {
    return this.db
      .query<OwnerRow, { limit: number }>("SELECT * FROM owners ORDER BY started_at DESC LIMIT $limit")
      .all({ limit })
      .map(toOwner);
  }

  /** Whether an owner still runs: pid check on this host, heartbeat age elsewhere. */
  alive(owner: OwnerRecord, liveness: OwnerLiveness): boolean {
    if (owner.stoppedAt !== null) return false;
    if (owner.host === this.host && !pidAlive(owner.pid)) return false;
    return nowUs() - owner.heartbeatAt <= liveness.staleAfterMs * 1000;
  }

  /**
   * Marks owners that died without stopping as stopped, their running attempts `abandoned` and
   * releases their locks. Returns the abandoned runs.
   */
  reapDead(liveness: OwnerLiveness): RunRecord[] {
    const abandoned: RunRecord[] = [];
    this.db.transaction(() => {
      const open = this.db
        .query<OwnerRow, []>("SELECT * FROM owners WHERE stopped_at IS NULL")
        .all()
        .map(toOwner);
      for (const owner of open) {
        if (this.alive(owner, liveness)) continue;
        const reason = `process ${owner.pid} on ${owner.host} died (last heartbeat ${new Date(owner.heartbeatAt / 1000).toISOString()})`;
        this.stop(owner.id, reason);
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
          if (owner && this.alive(toOwner(owner), liveness)) {
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
}
