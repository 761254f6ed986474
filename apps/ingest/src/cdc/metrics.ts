/** Counters and gauges of one CDC source, read by the health endpoint and the benchmark. */
import { type HealthReport, healthReport, StallWatch } from "@tributary/shared/health";
import { formatLsn } from "./lsn.ts";

export type CdcState = "starting" | "snapshot" | "streaming" | "reconnecting" | "stopped" | "failed";

export class CdcMetrics {
  state: CdcState = "starting";
  snapshotRows = 0;
  changes = 0;
  transactions = 0;
  dlq = 0;
  reconnects = 0;
  ackedRecords = 0;
  confirmedLsn = 0n;
  /** The server's end of WAL as last reported on the replication stream. */
  serverWalEnd = 0n;
  lastError: string | undefined;
  /** Signal-table signals acted on, and signal rows refused (logged and sent to the DLQ). */
  signals = 0;
  signalErrors = 0;
  /** Rows read by incremental snapshots, and the one in progress: its table, rows read, estimate, tables queued. */
  incrementalRows = 0;
  readonly incremental = { table: null as string | null, tableRows: 0, estimatedRows: 0, tablesLeft: 0 };
  private readonly window: { t: number; n: number }[] = [];
  /** Progress: a confirmed LSN (or acknowledged rows) while WAL waits or the stream reconnects. */
  private readonly confirms: StallWatch;

  constructor(stallAfterMs = 60_000, now: () => number = Date.now) {
    this.confirms = new StallWatch("confirmed LSN", stallAfterMs, now);
  }

  recordAcked(records: number, confirmedLsn: bigint, now = Date.now()): void {
    this.ackedRecords += records;
    if (confirmedLsn > this.confirmedLsn || records > 0) this.confirms.progressed();
    this.confirmedLsn = confirmedLsn;
    this.confirms.waiting(this.lagBytes() > 0n);
    this.window.push({ t: now, n: this.ackedRecords });
    while (this.window.length > 2 && (this.window[0] as { t: number }).t < now - 10_000) this.window.shift();
  }

  seenWalEnd(lsn: bigint): void {
    if (lsn > this.serverWalEnd) this.serverWalEnd = lsn;
    this.confirms.waiting(this.lagBytes() > 0n); // the stall clock starts when WAL begins to wait
  }

  /** Records acknowledged by Kafka per second over the last ten seconds. */
  rowsPerSecond(now = Date.now()): number {
    const first = this.window[0];
    const last = this.window[this.window.length - 1];
    if (!first || !last || last.t === first.t || now - last.t > 10_000) return 0;
    return ((last.n - first.n) * 1000) / (last.t - first.t);
  }

  /** WAL bytes the server has that Kafka has not acknowledged yet. */
  lagBytes(): bigint {
    return this.serverWalEnd > this.confirmedLsn ? this.serverWalEnd - this.confirmedLsn : 0n;
  }

  /**
   * Up while snapshotting, streaming or reconnecting; unhealthy once WAL has waited (or the stream has
   * been reconnecting) longer than the stall limit with no LSN confirmed, or when stopped or failed.
   */
  health(): HealthReport {
    const state = this.state;
    const reconnecting = state === "reconnecting";
    const lag = this.lagBytes();
    const live = state === "snapshot" || state === "streaming" || reconnecting;
    const error = this.lastError ? ` (last error: ${this.lastError.slice(0, 200)})` : "";
    const waitingFor = reconnecting
      ? `reconnecting to PostgreSQL${error}, ${lag} bytes of WAL wait`
      : `${lag} bytes of WAL wait`;
    return healthReport({
      source: { ok: live, detail: live ? `${state}` : `the CDC source is ${state}, not streaming${error}` },
      wal: this.confirms.waiting(lag > 0n || reconnecting).check(waitingFor),
    });
  }

  snapshotJson(): Record<string, unknown> {
    return {
      state: this.state,
      rows_per_s: Math.round(this.rowsPerSecond()),
      lag_bytes: Number(this.lagBytes()),
      confirmed_lsn: formatLsn(this.confirmedLsn),
      snapshot_rows: this.snapshotRows,
      changes: this.changes,
      transactions: this.transactions,
      dlq: this.dlq,
      reconnects: this.reconnects,
      signals: this.signals,
      signal_errors: this.signalErrors,
      incremental_snapshot: {
        rows: this.incrementalRows,
        table: this.incremental.table,
        table_rows: this.incremental.tableRows,
        estimated_rows: this.incremental.estimatedRows,
        tables_left: this.incremental.tablesLeft,
      },
      last_error: this.lastError ?? null,
    };
  }
}
