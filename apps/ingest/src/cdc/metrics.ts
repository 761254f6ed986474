/** Counters and gauges of one CDC source, read by the health endpoint and the benchmark. */
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
  lastProgressAt = Date.now();
  lastError: string | undefined;
  private readonly window: { t: number; n: number }[] = [];

  recordAcked(records: number, confirmedLsn: bigint, now = Date.now()): void {
    this.ackedRecords += records;
    if (confirmedLsn > this.confirmedLsn || records > 0) this.lastProgressAt = now;
    this.confirmedLsn = confirmedLsn;
    this.window.push({ t: now, n: this.ackedRecords });
    while (this.window.length > 2 && (this.window[0] as { t: number }).t < now - 10_000) this.window.shift();
  }

  seenWalEnd(lsn: bigint): void {
    if (lsn > this.serverWalEnd) this.serverWalEnd = lsn;
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
      last_error: this.lastError ?? null,
    };
  }
}
