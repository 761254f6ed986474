/**
 * One PostgreSQL replication connection (node-postgres with `replication=database`): creates slots
 * with an exported snapshot, streams a slot as an async iterator of WAL frames with backpressure,
 * and sends standby status updates carrying the LSN that Kafka has acknowledged.
 */
import pg from "pg";
import { formatLsn, parseLsn } from "./lsn.ts";

/**
 * Session settings that make PostgreSQL's text output exact and zone-free for us: ISO dates, UTC
 * timestamptz, shortest-exact floats, ISO 8601 intervals, hex bytea. Used by the snapshot too, so a
 * row reads the same whether it came from the snapshot or the stream.
 */
export const SESSION_OPTIONS =
  "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=1 -c bytea_output=hex";

export interface XLogFrame {
  readonly kind: "xlog";
  /** WAL position of the record this message came from (begin: first record; commit: end of commit). */
  readonly walStart: bigint;
  readonly walEnd: bigint;
  /** A private copy of the pgoutput message (node-postgres reuses its read buffer). */
  readonly payload: Buffer;
}
export interface KeepaliveFrame {
  readonly kind: "keepalive";
  /** Everything before this position has been sent to us. */
  readonly walEnd: bigint;
  readonly replyRequested: boolean;
}
export type ReplicationFrame = XLogFrame | KeepaliveFrame;

export interface CreatedSlot {
  readonly slotName: string;
  readonly consistentPoint: bigint;
  /** Name for `SET TRANSACTION SNAPSHOT`; valid until this connection runs another command or closes. */
  readonly snapshotName: string | null;
}

export interface StartOptions {
  readonly slot: string;
  readonly publications: readonly string[];
  /** 0 = resume from the slot's confirmed_flush_lsn. */
  readonly startLsn: bigint;
  /** Frames buffered before the socket is paused. */
  readonly highWaterFrames?: number;
}

export class ReplicationError extends Error {
  override readonly name = "ReplicationError";
}

/** µs between 1970-01-01 and 2000-01-01, the epoch of the replication protocol's timestamps. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

interface CopyDataMessage {
  readonly chunk: Buffer;
}

/** node-postgres' internal connection: the socket and the raw CopyData writer (no public API exists). */
interface PgConnection {
  readonly stream: { pause(): void; resume(): void };
  on(event: "copyData", listener: (msg: CopyDataMessage) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export class ReplicationConnection {
  private streaming = false;
  private closed = false;

  private constructor(private readonly client: pg.Client) {}

  static async open(url: string, applicationName: string): Promise<ReplicationConnection> {
    const client = new pg.Client({
      connectionString: url,
      replication: "database",
      application_name: applicationName,
      options: SESSION_OPTIONS,
      connectionTimeoutMillis: 10_000,
    } as pg.ClientConfig);
    const conn = new ReplicationConnection(client);
    // An error with no stream running (e.g. the server went away while idle) must not crash the process.
    client.on("error", () => undefined);
    await client.connect();
    return conn;
  }

  private get connection(): PgConnection {
    return (this.client as unknown as { connection: PgConnection }).connection;
  }

  async identifySystem(): Promise<{ systemId: string; timeline: number; xlogPos: bigint; dbName: string }> {
    const res = await this.client.query("IDENTIFY_SYSTEM");
    const row = res.rows[0] as { systemid: string; timeline: string; xlogpos: string; dbname: string };
    return {
      systemId: row.systemid,
      timeline: Number(row.timeline),
      xlogPos: parseLsn(row.xlogpos),
      dbName: row.dbname,
    };
  }

  /** `CREATE_REPLICATION_SLOT … LOGICAL pgoutput EXPORT_SNAPSHOT` (the PostgreSQL 10+ spelling, still accepted by 15+). */
  async createSlot(slot: string, exportSnapshot: boolean): Promise<CreatedSlot> {
    const mode = exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT";
    const res = await this.client.query(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${mode}`,
    );
    const row = res.rows[0] as { slot_name: string; consistent_point: string; snapshot_name: string | null };
    return {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
    };
  }

  /** Drops a slot, waiting for a previous consumer's connection to let go of it. */
  async dropSlot(slot: string): Promise<void> {
    await this.client.query(`DROP_REPLICATION_SLOT ${quoteIdent(slot)} WAIT`);
  }

  /**
   * Streams the slot. The iterator ends when the server ends the copy or the connection closes and
   * throws the connection's error, after handing out every frame received before it.
   */
  start(opts: StartOptions): AsyncIterableIterator<ReplicationFrame> {
    if (this.streaming) throw new ReplicationError("this connection is already streaming");
    this.streaming = true;
    const high = opts.highWaterFrames ?? 20_000;
    const low = Math.floor(high / 4);
    const queue: ReplicationFrame[] = [];
    let head = 0;
    let paused = false;
    let failure: Error | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const conn = this.connection;

    conn.on("copyData", ({ chunk }) => {
      const type = chunk[0];
      if (type === 0x77) {
        // XLogData: w, walStart, walEnd, sendTime, payload
        queue.push({
          kind: "xlog",
          walStart: chunk.readBigUInt64BE(1),
          walEnd: chunk.readBigUInt64BE(9),
          payload: Buffer.from(chunk.subarray(25)),
        });
      } else if (type === 0x6b) {
        // Primary keepalive: k, walEnd, sendTime, replyRequested
        queue.push({ kind: "keepalive", walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 });
      } else {
        failure ??= new ReplicationError(`unknown replication frame type 0x${(type ?? 0).toString(16)}`);
      }
      if (!paused && queue.length - head >= high) {
        paused = true;
        conn.stream.pause();
      }
      notify();
    });
    this.client.on("error", (err: Error) => {
      failure ??= err;
      notify();
    });
    this.client.on("end", () => {
      ended = true;
      notify();
    });

    const options = [`proto_version '1'`, `publication_names ${quoteLiteral(opts.publications.join(","))}`];
    const sql = `START_REPLICATION SLOT ${quoteIdent(opts.slot)} LOGICAL ${formatLsn(opts.startLsn)} (${options.join(", ")})`;
    this.client.query(sql).then(
      () => {
        ended = true;
        notify();
      },
      (err: Error) => {
        failure ??= err;
        notify();
      },
    );

    const iterator: AsyncIterableIterator<ReplicationFrame> = {
      next: async (): Promise<IteratorResult<ReplicationFrame>> => {
        for (;;) {
          if (head < queue.length) {
            const frame = queue[head] as ReplicationFrame;
            head++;
            if (head > 4096 && head * 2 > queue.length) {
              queue.splice(0, head);
              head = 0;
            }
            if (paused && queue.length - head <= low) {
              paused = false;
              conn.stream.resume();
            }
            return { value: frame, done: false };
          }
          if (failure) throw failure;
          if (ended || this.closed) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<ReplicationFrame>> => {
        await this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Standby status update: everything before `confirmedLsn` is safely delivered (written, flushed
   * and applied alike), which moves the slot's confirmed_flush_lsn. Never an LSN Kafka has not acked.
   */
  sendStatus(confirmedLsn: bigint, replyRequested = false): void {
    if (!this.streaming || this.closed) return;
    const msg = Buffer.alloc(34);
    msg[0] = 0x72; // r
    msg.writeBigUInt64BE(confirmedLsn, 1);
    msg.writeBigUInt64BE(confirmedLsn, 9);
    msg.writeBigUInt64BE(confirmedLsn, 17);
    msg.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_MICROS, 25);
    msg[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(msg);
  }

  async query<T>(sql: string): Promise<T[]> {
    const res = await this.client.query(sql);
    return res.rows as T[];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.end();
    } catch {
      // Already gone: nothing to release.
    }
  }
}
