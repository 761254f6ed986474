/**
 * Incremental snapshots while streaming: Debezium's, after Netflix's DBLog watermark algorithm. An
 * `execute-snapshot` signal row seen in the stream queues tables; each is read in primary-key chunks.
 * For a chunk the source writes a low watermark row into the signal table, SELECTs the chunk, and
 * writes a high watermark. From the chunk's read (the stream waits meanwhile; see the window's `open`)
 * to the high watermark, a change to a key of the chunk drops that key from the chunk (the stream's
 * event is as new or newer); at the high watermark the
 * rest goes out as `r` events (`source.snapshot` `incremental`, placed at the watermark's commit),
 * then the next chunk is read. Memory holds one chunk; the position is saved once Kafka acknowledged
 * a chunk, so a restart resumes from there (incremental-state.ts).
 */
import { randomUUID } from "node:crypto";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { nowMicros } from "@tributary/shared/time";
import type pg from "pg";
import { openSqlClient, parseTableRef, type TableRef, tableInfo, tableName } from "./catalog.ts";
import { encodeSnapshotRead, keyJson, type TableShape, tableShape } from "./envelope.ts";
import { estimateRows, keyValues, readChunkRows, readMaxKey } from "./incremental-chunk.ts";
import type { IncrementalState, IncrementalStateStore, TableProgress } from "./incremental-state.ts";
import type { KafkaSink } from "./kafka-sink.ts";
import type { Tuple } from "./pgoutput.ts";
import { insertSignal, parseSignal, SIGNAL_TYPE, type Signal, signalRowText } from "./signal.ts";
import { APP, errText, type SourceEnv } from "./source-env.ts";

/** Where in the stream a signal row was seen: its transaction's commit and its own WAL position. */
export interface StreamPoint {
  readonly commitLsn: bigint;
  readonly lsn: bigint;
}

export interface IncrementalSnapshotOptions {
  readonly signalTable: TableRef;
  /** Rows per chunk (Debezium's `incremental.snapshot.chunk.size`). */
  readonly chunkSize: number;
  readonly store: IncrementalStateStore;
  /** How often progress is logged while a table is read. */
  readonly progressEveryMs?: number;
}

interface ChunkWindow {
  readonly chunkId: string;
  readonly table: string;
  readonly shape: TableShape;
  /** Key JSON → row, in key order. */
  readonly rows: Map<string, Tuple>;
  readonly scanned: number;
  readonly lastKey: readonly string[];
  /** The low watermark has been seen in the stream. */
  open: boolean;
}

export class IncrementalSnapshot {
  private state: IncrementalState;
  private window: ChunkWindow | null = null;
  private client: pg.Client | undefined;
  private readonly captured: Set<string>;
  private readonly signalName: string;
  private lastProgressLog = 0;

  constructor(
    private readonly env: SourceEnv,
    private readonly sink: KafkaSink,
    private readonly opts: IncrementalSnapshotOptions,
  ) {
    this.state = opts.store.read();
    this.captured = new Set(env.tables.map(tableName));
    this.signalName = tableName(opts.signalTable);
    const current = this.state.tables[0];
    if (current) {
      env.log.info(
        "an incremental snapshot was in progress: it resumes after the last chunk Kafka acknowledged",
        {
          tables: this.state.tables.map((t) => t.table),
          table: current.table,
          rows: current.rows,
          estimated_rows: current.estimated,
        },
      );
    }
    this.updateMetrics();
  }

  isSignalTable(schema: string, table: string): boolean {
    return `${schema}.${table}` === this.signalName;
  }

  /** True while a chunk's window is open on `table`: its changes must be offered to `onChange`. */
  watching(table: string): boolean {
    return this.window?.open === true && this.window.table === table;
  }

  /** At each (re)connection: a chunk read on an earlier connection is read again with new watermarks. */
  async resume(): Promise<void> {
    this.window = null;
    if (this.state.tables.length > 0) await this.readChunk();
  }

  /** A row inserted into the signal table, seen in the stream at `at`. */
  async onSignalRow(tuple: Tuple, at: StreamPoint): Promise<void> {
    let signal: Signal;
    try {
      signal = parseSignal(tuple);
    } catch (err) {
      await this.refuse(tuple, errText(err));
      return;
    }
    const w = this.window;
    switch (signal.kind) {
      case "window-open":
        if (w?.chunkId === signal.chunkId) w.open = true;
        return;
      case "window-close":
        if (w?.chunkId === signal.chunkId && w.open) await this.closeWindow(w, at);
        return;
      case "log":
        this.env.log.info("signal", { id: signal.id, message: signal.message });
        return;
    }
    if (at.lsn <= BigInt(this.state.signalLsn)) {
      this.env.log.info("signal already acted on (replayed by the slot): ignored", { id: signal.id });
      return;
    }
    this.env.metrics.signals++;
    if (signal.kind === "execute-snapshot") await this.execute(signal.id, signal.tables, tuple, at);
    else await this.stop(signal.tables, at);
  }

  /** A captured change while a window is open: its keys leave the chunk (the stream's event is newer). */
  onChange(table: string, shape: TableShape, ...tuples: (Tuple | null)[]): void {
    const w = this.window;
    if (!w?.open || w.table !== table) return;
    for (const t of tuples) {
      const key = t ? keyJson(shape, t) : null;
      if (key !== null) w.rows.delete(key);
    }
  }

  onTruncate(table: string): void {
    if (this.watching(table)) this.window?.rows.clear();
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private async execute(id: string, names: readonly string[], tuple: Tuple, at: StreamPoint): Promise<void> {
    const problems: string[] = [];
    const queued = new Set(this.state.tables.map((t) => t.table));
    const accepted: string[] = [];
    for (const name of names) {
      const problem = await this.problemWith(name);
      if (problem) problems.push(problem);
      else if (!queued.has(name)) accepted.push(name);
    }
    if (problems.length > 0) await this.refuse(tuple, problems.join("; "));
    const idle = this.state.tables.length === 0;
    const added = accepted.map((table) => ({ table, maxKey: null, lastKey: null, rows: 0, estimated: 0 }));
    this.save(String(at.lsn), [...this.state.tables, ...added]);
    const already = names.filter((n) => queued.has(n));
    if (already.length > 0)
      this.env.log.info("already being snapshotted: not queued again", { tables: already });
    if (accepted.length === 0) return;
    this.env.log.info("incremental snapshot requested", {
      signal: id,
      tables: accepted,
      queue: this.state.tables.map((t) => t.table),
    });
    if (idle) await this.readChunk();
  }

  private async stop(names: readonly string[], at: StreamPoint): Promise<void> {
    const stopped = (t: string): boolean => names.length === 0 || names.includes(t);
    const current = this.state.tables[0];
    this.save(
      String(at.lsn),
      this.state.tables.filter((t) => !stopped(t.table)),
    );
    this.env.log.info("incremental snapshot stopped", {
      tables: names.length === 0 ? "all" : names,
      queue: this.state.tables.map((t) => t.table),
    });
    if (current && stopped(current.table)) {
      this.window = null;
      if (this.state.tables.length > 0) await this.readChunk();
    }
  }

  /** Why `name` cannot be snapshotted incrementally, or null. */
  private async problemWith(name: string): Promise<string | null> {
    let ref: TableRef;
    try {
      ref = parseTableRef(name);
    } catch {
      return `${JSON.stringify(name)} is not a schema.table name`;
    }
    const info = await tableInfo(await this.sql(), ref);
    if (!info) return `table ${name} does not exist`;
    if (!this.captured.has(name))
      return `table ${name} is not captured (CDC_TABLES): only captured tables can be snapshotted`;
    if (info.primaryKey.length === 0)
      return `table ${name} has no primary key: an incremental snapshot reads a table in primary-key chunks. Fix: ALTER TABLE ${name} ADD PRIMARY KEY (<columns>);`;
    return null;
  }

  private async refuse(tuple: Tuple, reason: string): Promise<void> {
    this.env.metrics.signalErrors++;
    const row = signalRowText(tuple);
    this.env.log.error(`signal refused: ${reason}`, { signal: row, signal_table: this.signalName });
    const { schema, table } = this.opts.signalTable;
    await this.sink.pushDlq(row, `signal refused: ${reason}`, cdcTopic(this.env.opts.prefix, schema, table));
  }

  /** The high watermark: the chunk's remaining rows go out as reads, then, once in Kafka, the next chunk. */
  private async closeWindow(w: ChunkWindow, at: StreamPoint): Promise<void> {
    this.window = null;
    const { ctx, opts } = this.env;
    const topic = cdcTopic(opts.prefix, w.shape.schema, w.shape.table);
    const startedMicros = nowMicros();
    const pos = {
      consistentPoint: at.lsn,
      startedMicros,
      marker: "incremental" as const,
      stream: { commitLsn: at.commitLsn },
    };
    for (const tuple of w.rows.values()) {
      let record: ReturnType<typeof encodeSnapshotRead>;
      try {
        record = encodeSnapshotRead(ctx, w.shape, tuple, pos, nowMicros());
      } catch (err) {
        const reason = `incremental snapshot row could not be encoded: ${errText(err)}`;
        await this.sink.pushDlq(JSON.stringify(tuple), reason, topic);
        continue;
      }
      await this.sink.push({ topic, ...record });
    }
    await this.sink.flush(); // the chunk is in Kafka before its position is saved
    const [current, ...rest] = this.state.tables;
    if (!current || current.table !== w.table) return; // stopped meanwhile
    const progress = { ...current, lastKey: w.lastKey, rows: current.rows + w.scanned };
    this.save(this.state.signalLsn, [progress, ...rest]);
    this.env.metrics.incrementalRows += w.scanned;
    const now = Date.now();
    if (now - this.lastProgressLog >= (this.opts.progressEveryMs ?? 5000)) {
      this.lastProgressLog = now;
      this.env.log.info("incremental snapshot progress", progressFields(progress));
    }
    await this.readChunk();
  }

  /**
   * Reads the next chunk. A statement PostgreSQL refuses (a type it cannot compare, a privilege)
   * abandons that table, logged, and the stream goes on; a lost connection is the stream's to retry.
   */
  private async readChunk(): Promise<void> {
    for (;;) {
      try {
        await this.readNextChunk();
        return;
      } catch (err) {
        this.window = null;
        await this.close(); // a fresh connection on the next attempt
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code !== "string" || /^(08|40|53|57)/.test(code)) throw err;
        const table = this.state.tables[0]?.table;
        this.env.metrics.lastError = errText(err);
        this.env.log.error(`incremental snapshot of ${table} abandoned: ${errText(err)}`, { sqlstate: code });
        this.nextTable();
      }
    }
  }

  /** Writes the low watermark, reads the next chunk, writes the high watermark (or finishes tables). */
  private async readNextChunk(): Promise<void> {
    const sql = await this.sql();
    for (;;) {
      let current = this.state.tables[0];
      if (!current) return;
      const info = await tableInfo(sql, parseTableRef(current.table));
      if (!info || info.primaryKey.length === 0) {
        this.env.log.warn(
          `incremental snapshot of ${current.table} skipped: ${info ? "it has no primary key any more" : "the table no longer exists"}`,
        );
        this.nextTable();
        continue;
      }
      if (current.maxKey === null) {
        const maxKey = await readMaxKey(sql, info);
        current = { ...current, maxKey, estimated: maxKey ? await estimateRows(sql, info) : 0 };
        this.save(this.state.signalLsn, [current, ...this.state.tables.slice(1)]);
        this.env.log.info("incremental snapshot of a table started", {
          table: current.table,
          estimated_rows: current.estimated,
          up_to_key: maxKey,
        });
      }
      if (current.maxKey === null) {
        this.nextTable();
        continue;
      }
      const chunkId = randomUUID();
      const opened = new Date().toISOString();
      await this.watermark(SIGNAL_TYPE.windowOpen, `${chunkId}-open`, { openWindowTimestamp: opened });
      const rows = await readChunkRows(sql, info, current.lastKey, current.maxKey, this.opts.chunkSize);
      const last = rows.at(-1);
      if (!last) {
        this.nextTable();
        continue;
      }
      const shape = tableShape(info.schema, info.table, info.columns, info.primaryKey, this.env.ctx.settings);
      this.window = {
        chunkId,
        table: current.table,
        shape,
        rows: new Map(rows.map((r) => [keyJson(shape, r) ?? "", r])),
        scanned: rows.length,
        lastKey: keyValues(info, last),
        // Open now, not when the stream reaches the low watermark. PostgreSQL makes a commit visible a
        // moment after writing its commit record, so a change committed just before the low watermark in
        // the WAL can still be invisible to the chunk's SELECT; its event (not yet streamed: the stream
        // waits while this runs) must remove its key too, or the older read would overwrite it.
        open: true,
      };
      await this.watermark(SIGNAL_TYPE.windowClose, `${chunkId}-close`, {
        openWindowTimestamp: opened,
        closeWindowTimestamp: new Date().toISOString(),
      });
      return;
    }
  }

  private async watermark(type: string, id: string, data: unknown): Promise<void> {
    await insertSignal(await this.sql(), this.opts.signalTable, type, data, id);
  }

  private nextTable(): void {
    const [done, ...rest] = this.state.tables;
    if (done) this.env.log.info("incremental snapshot of a table done", progressFields(done));
    this.save(this.state.signalLsn, rest);
    if (rest.length === 0) this.env.log.info("incremental snapshot finished");
  }

  private save(signalLsn: string, tables: readonly TableProgress[]): void {
    this.state = this.opts.store.write({ signalLsn, tables });
    this.updateMetrics();
  }

  private updateMetrics(): void {
    const current = this.state.tables[0];
    const m = this.env.metrics.incremental;
    m.table = current?.table ?? null;
    m.tableRows = current?.rows ?? 0;
    m.estimatedRows = current?.estimated ?? 0;
    m.tablesLeft = this.state.tables.length;
  }

  private async sql(): Promise<pg.Client> {
    this.client ??= await openSqlClient(this.env.opts.pgUrl, APP);
    return this.client;
  }
}

function progressFields(p: TableProgress): Record<string, unknown> {
  const percent = p.estimated > 0 ? Math.min(100, Math.round((p.rows / p.estimated) * 1000) / 10) : null;
  return { table: p.table, rows: p.rows, estimated_rows: p.estimated, percent, last_key: p.lastKey };
}
