/**
 * The CDC source: PostgreSQL logical replication (pgoutput) → Debezium envelopes → Kafka.
 *
 * 1. Manages its publication (the configured tables) and its replication slot.
 * 2. Without a finished snapshot for the slot, (re)creates the slot with EXPORT_SNAPSHOT and emits
 *    every existing row as an `r` event read under that snapshot, then records the snapshot as done.
 * 3. Streams the slot from its confirmed position: inserts, updates, deletes and truncates in
 *    commit order, framed by transaction BEGIN/END events, and confirms an LSN to PostgreSQL only
 *    once Kafka acknowledged every change up to it (KafkaSink). Reconnects with capped backoff.
 */
import {
  type CdcTransactionEvent,
  cdcDlqTopic,
  cdcSnapshotId,
  cdcTransactionTopic,
} from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { ensureTopics, type KafkaConfig, topicSpec } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import { nowMicros } from "@tributary/shared/time";
import type { Kafka, Producer } from "kafkajs";
import type pg from "pg";
import { Backoff, type BackoffOptions, sleep } from "../kraken/backoff.ts";
import {
  currentDatabase,
  dropSlot,
  ensurePublication,
  keylessWarning,
  openSqlClient,
  parseTableRef,
  primaryKeyOf,
  slotInfo,
  type TableInfo,
  tableInfo,
  tableName,
} from "./catalog.ts";
import {
  type ChangePosition,
  type EncodedRecord,
  type EnvelopeContext,
  encodeChange,
  encodeSnapshotRead,
  encodeTruncate,
  type TableShape,
  tableShape,
  transactionId,
} from "./envelope.ts";
import { KafkaSink, type SinkRecord } from "./kafka-sink.ts";
import { formatLsn } from "./lsn.ts";
import { CdcMetrics } from "./metrics.ts";
import { KeyHashPartitioner } from "./partitioner.ts";
import { decodePgoutput, type PgoutputMessage, type Tuple } from "./pgoutput.ts";
import { ReplicationConnection, type ReplicationFrame } from "./replication-connection.ts";
import { beginSnapshot, readSnapshot } from "./snapshot.ts";
import { SnapshotStateStore } from "./snapshot-state.ts";

export interface CdcSourceOptions {
  readonly pgUrl: string;
  readonly kafka: Kafka;
  readonly kafkaConfig: KafkaConfig;
  readonly prefix: string;
  readonly slot: string;
  readonly publication: string;
  /** `schema.table` names. */
  readonly tables: readonly string[];
  readonly stateDir: string;
  readonly log: Logger;
  readonly metrics?: CdcMetrics;
  /** Follow each delete with a null-value record (Debezium's `tombstones.on.delete`). Default false. */
  readonly tombstones?: boolean;
  /** BEGIN/END events on `<prefix>.transaction`. Default true. */
  readonly transactionEvents?: boolean;
  readonly statusIntervalMs?: number;
  readonly snapshotBatchRows?: number;
  readonly maxBatchRecords?: number;
  readonly lingerMs?: number;
  readonly maxRecordBytes?: number;
  readonly reconnect?: BackoffOptions;
  /** Consecutive failed connection attempts before the source gives up. */
  readonly maxReconnectAttempts?: number;
  /** Called after every Kafka acknowledgement with the confirmed LSN (benchmarks, tests). */
  readonly onConfirmed?: (lsn: bigint) => void;
}

/** An error that reconnecting cannot fix. */
export class CdcFatalError extends Error {
  override readonly name = "CdcFatalError";
}

interface OpenTransaction {
  readonly xid: number;
  readonly finalLsn: bigint;
  readonly commitTimeMicros: bigint;
  total: number;
  readonly perTable: Map<string, number>;
  begun: boolean;
}

interface StreamRelation {
  readonly shape: TableShape;
  readonly topic: string;
  readonly captured: boolean;
}

const APP = "tributary-cdc";

export class CdcSource {
  readonly metrics: CdcMetrics;
  private readonly log: Logger;
  private readonly tables: ReturnType<typeof parseTableRef>[];
  private readonly store: SnapshotStateStore;
  private readonly txTopic: string;
  private readonly dlqTopic: string;
  private ctx: EnvelopeContext | undefined;
  private readonly warnedKeyless = new Set<string>();

  constructor(private readonly opts: CdcSourceOptions) {
    this.metrics = opts.metrics ?? new CdcMetrics();
    this.log = opts.log;
    this.tables = opts.tables.map(parseTableRef);
    this.store = new SnapshotStateStore(opts.stateDir, opts.slot);
    this.txTopic = cdcTransactionTopic(opts.prefix);
    this.dlqTopic = cdcDlqTopic(opts.prefix);
  }

  /** Runs until `signal` aborts (then stops cleanly) or a fatal error. */
  async run(signal: AbortSignal): Promise<void> {
    const { kafka, kafkaConfig, prefix } = this.opts;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = [
        ...this.tables.map((t) => cdcTopic(prefix, t.schema, t.table)),
        this.txTopic,
        this.dlqTopic,
      ];
      await ensureTopics(
        admin,
        topics.map((t) => topicSpec(kafkaConfig, t)),
      );
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: KeyHashPartitioner, // Kafka's murmur2 key hashing, as Debezium's topics
    });
    await producer.connect();
    let sink: KafkaSink | undefined;
    try {
      const infos = await this.prepare();
      const side = await openSqlClient(this.opts.pgUrl, APP);
      let slot: Awaited<ReturnType<typeof slotInfo>>;
      try {
        slot = await slotInfo(side, this.opts.slot);
        const state = this.store.read();
        if (slot && !state) {
          this.log.warn(
            "replication slot exists without a finished snapshot: the last snapshot was interrupted; starting it over",
            {
              slot: this.opts.slot,
            },
          );
          await dropSlot(side, this.opts.slot);
          slot = null;
        } else if (!slot && state) {
          this.log.warn(
            "the snapshot was finished but the replication slot is gone (dropped by hand?): taking a new snapshot",
            {
              slot: this.opts.slot,
            },
          );
          this.store.clear();
        }
      } finally {
        await side.end();
      }
      sink = this.newSink(producer, slot?.confirmedFlushLsn ?? 0n);
      if (!slot) await this.snapshot(sink, infos, signal);
      if (!signal.aborted) await this.streamLoop(sink, signal);
      this.metrics.state = "stopped";
    } catch (err) {
      this.metrics.state = "failed";
      this.metrics.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      sink?.close();
      await producer.disconnect().catch(() => undefined);
    }
  }

  private newSink(producer: Producer, confirmed: bigint): KafkaSink {
    return new KafkaSink(
      {
        producer,
        dlqTopic: this.dlqTopic,
        log: this.log,
        maxBatchRecords: this.opts.maxBatchRecords,
        lingerMs: this.opts.lingerMs,
        maxRecordBytes: this.opts.maxRecordBytes,
        onAcked: (records, lsn) => {
          this.metrics.recordAcked(records, lsn);
          this.opts.onConfirmed?.(lsn);
        },
        onDlq: () => {
          this.metrics.dlq++;
        },
      },
      confirmed,
    );
  }

  /** Publication, table checks, database name. */
  private async prepare(): Promise<TableInfo[]> {
    const client = await openSqlClient(this.opts.pgUrl, APP);
    try {
      const infos: TableInfo[] = [];
      for (const ref of this.tables) {
        const info = await tableInfo(client, ref);
        if (!info)
          throw new CdcFatalError(
            `table ${tableName(ref)} does not exist (CDC_TABLES); create it first, e.g. bun run cdc --load-sample`,
          );
        const warning = keylessWarning(info);
        if (warning) {
          this.log.warn(warning, { table: tableName(info) });
          this.warnedKeyless.add(tableName(info));
        }
        infos.push(info);
      }
      const added = await ensurePublication(client, this.opts.publication, infos, this.log);
      const state = this.store.read();
      if (state && added.length > 0) {
        this.log.warn(
          "tables added to the publication after the snapshot are streamed from now on but were not snapshotted; run `bun run cdc --resnapshot` to include their existing rows",
          {
            tables: added.map(tableName),
          },
        );
      }
      this.ctx = { prefix: this.opts.prefix, db: await currentDatabase(client) };
      return infos;
    } finally {
      await client.end();
    }
  }

  private get context(): EnvelopeContext {
    if (!this.ctx) throw new Error("CdcSource used before prepare()");
    return this.ctx;
  }

  // ---------------------------------------------------------------- snapshot

  private async snapshot(sink: KafkaSink, tables: readonly TableInfo[], signal: AbortSignal): Promise<void> {
    this.metrics.state = "snapshot";
    const repl = await ReplicationConnection.open(this.opts.pgUrl, APP);
    let reader: pg.Client | undefined;
    try {
      const created = await repl.createSlot(this.opts.slot, true);
      if (!created.snapshotName)
        throw new CdcFatalError("PostgreSQL did not export a snapshot for the new slot");
      reader = await openSqlClient(this.opts.pgUrl, APP);
      await beginSnapshot(reader, created.snapshotName);
      await repl.close(); // the snapshot now lives in the reader's transaction
      const cp = created.consistentPoint;
      const id = cdcSnapshotId(cp);
      const startedMicros = nowMicros();
      this.log.info("snapshot started", {
        slot: this.opts.slot,
        consistent_point: formatLsn(cp),
        tables: tables.map(tableName),
      });
      const counts = new Map(tables.map((t) => [tableName(t), 0]));
      if (this.opts.transactionEvents !== false) {
        await sink.push(
          this.txEvent({
            status: "BEGIN",
            id,
            ts_ms: Number(startedMicros / 1000n),
            event_count: null,
            data_collections: null,
          }),
        );
      }
      const shapes = new Map(
        tables.map((t) => [
          t.oid,
          tableShape(t.schema, t.table, t.columns, t.primaryKey.length > 0 ? t.primaryKey : null),
        ]),
      );
      let pending: { table: TableInfo; shape: TableShape; tuple: Tuple } | undefined;
      let first = true;
      const emit = async (
        row: { table: TableInfo; shape: TableShape; tuple: Tuple },
        last: boolean,
      ): Promise<void> => {
        const marker = last ? "last" : first ? "first" : "true";
        first = false;
        const topic = cdcTopic(this.opts.prefix, row.table.schema, row.table.table);
        let rec: EncodedRecord;
        try {
          rec = encodeSnapshotRead(
            this.context,
            row.shape,
            row.tuple,
            { consistentPoint: cp, startedMicros, marker },
            nowMicros(),
          );
        } catch (err) {
          await sink.pushDlq(
            JSON.stringify(row.tuple),
            `snapshot row could not be encoded: ${errText(err)}`,
            topic,
          );
          return;
        }
        await sink.push({ topic, ...rec });
        this.metrics.snapshotRows++;
        counts.set(tableName(row.table), (counts.get(tableName(row.table)) ?? 0) + 1);
      };
      let seen = 0;
      for await (const batch of readSnapshot(reader, tables, this.opts.snapshotBatchRows)) {
        if (signal.aborted)
          throw new CdcFatalError("stopped during the snapshot; it starts over on the next run");
        const shape = shapes.get(batch.table.oid) as TableShape;
        for (const tuple of batch.rows) {
          if (pending) await emit(pending, false);
          pending = { table: batch.table, shape, tuple };
        }
        seen += batch.rows.length;
        if (seen % 50_000 < batch.rows.length)
          this.log.info("snapshot progress", { rows: seen, table: tableName(batch.table) });
      }
      if (pending) await emit(pending, true);
      if (this.opts.transactionEvents !== false) {
        const dataCollections = [...counts].map(([data_collection, event_count]) => ({
          data_collection,
          event_count,
        }));
        const total = dataCollections.reduce((s, d) => s + d.event_count, 0);
        await sink.push(
          this.txEvent({
            status: "END",
            id,
            ts_ms: Number(nowMicros() / 1000n),
            event_count: total,
            data_collections: dataCollections,
          }),
        );
      }
      await sink.flush();
      await reader.query("COMMIT");
      this.store.write({
        v: 1,
        slot: this.opts.slot,
        publication: this.opts.publication,
        prefix: this.opts.prefix,
        consistentPoint: formatLsn(cp),
        tables: tables.map(tableName),
        rows: this.metrics.snapshotRows,
        completedAt: new Date().toISOString(),
      });
      this.log.info("snapshot done and acknowledged by Kafka", {
        rows: this.metrics.snapshotRows,
        consistent_point: formatLsn(cp),
      });
    } finally {
      await repl.close();
      await reader?.end().catch(() => undefined);
    }
  }

  private txEvent(ev: CdcTransactionEvent): SinkRecord {
    return { topic: this.txTopic, key: JSON.stringify({ id: ev.id }), value: JSON.stringify(ev) };
  }

  // ---------------------------------------------------------------- streaming

  private async streamLoop(sink: KafkaSink, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.opts.reconnect ?? { initialMs: 200, maxMs: 10_000, floorMs: 50 });
    const maxAttempts = this.opts.maxReconnectAttempts ?? 60;
    while (!signal.aborted) {
      const run = { progressed: false };
      try {
        await this.streamOnce(sink, signal, run);
      } catch (err) {
        if (err instanceof CdcFatalError || isFatalPgError(err)) throw err;
        this.metrics.reconnects++;
        this.metrics.lastError = errText(err);
        this.log.warn("replication stream lost; reconnecting", {
          error: errText(err),
          attempt: backoff.attempts + 1,
        });
      }
      if (signal.aborted) break;
      this.metrics.state = "reconnecting";
      await sink.flush(); // an unfinished transaction is replayed by the server: duplicates, never gaps
      if (run.progressed) backoff.reset();
      if (backoff.attempts >= maxAttempts) {
        throw new CdcFatalError(
          `replication stream failed ${maxAttempts} times in a row; last error: ${this.metrics.lastError}`,
        );
      }
      await sleep(backoff.next(), signal);
    }
    await sink.flush();
  }

  /** One replication connection's lifetime; `run.progressed` tells whether any change got through. */
  private async streamOnce(
    sink: KafkaSink,
    signal: AbortSignal,
    run: { progressed: boolean },
  ): Promise<void> {
    const side = await openSqlClient(this.opts.pgUrl, APP);
    let conn: ReplicationConnection | undefined;
    let statusTimer: ReturnType<typeof setInterval> | undefined;
    const onAbort = (): void => {
      void (async () => {
        await sink.flush().catch(() => undefined);
        safeStatus(conn, sink.confirmedLsn);
        await conn?.close();
      })();
    };
    try {
      conn = await ReplicationConnection.open(this.opts.pgUrl, APP);
      const frames = conn.start({
        slot: this.opts.slot,
        publications: [this.opts.publication],
        startLsn: 0n,
      });
      signal.addEventListener("abort", onAbort, { once: true });
      let lastSent = -1n;
      let lastSentAt = 0;
      const sendStatus = (force: boolean): void => {
        const lsn = sink.confirmedLsn;
        if (force || lsn !== lastSent || Date.now() - lastSentAt > 10_000) {
          safeStatus(conn, lsn);
          lastSent = lsn;
          lastSentAt = Date.now();
        }
      };
      statusTimer = setInterval(() => sendStatus(false), this.opts.statusIntervalMs ?? 1000);
      this.metrics.state = "streaming";
      const relations = new Map<number, StreamRelation>();
      const captured = new Set(this.tables.map(tableName));
      let txn: OpenTransaction | null = null;

      for await (const frame of frames) {
        if (signal.aborted) break;
        this.metrics.seenWalEnd(frame.walEnd);
        if (frame.kind === "keepalive") {
          if (!txn) sink.mark(frame.walEnd); // between transactions everything before walEnd was handed over
          if (frame.replyRequested) sendStatus(true);
          continue;
        }
        let msg: PgoutputMessage;
        try {
          msg = decodePgoutput(frame.payload);
        } catch (err) {
          await sink.pushDlq(
            frame.payload,
            `pgoutput message could not be decoded: ${errText(err)}`,
            this.opts.prefix,
          );
          continue;
        }
        switch (msg.tag) {
          case "begin":
            txn = {
              xid: msg.xid,
              finalLsn: msg.finalLsn,
              commitTimeMicros: msg.commitTimeMicros,
              total: 0,
              perTable: new Map(),
              begun: false,
            };
            break;
          case "relation": {
            const name = `${msg.schema}.${msg.table}`;
            const pk = await primaryKeyOf(side, msg.relationOid);
            const key =
              pk.length > 0
                ? pk
                : msg.replicaIdentity === "index"
                  ? msg.columns.filter((c) => c.isKey).map((c) => c.name)
                  : null;
            if (!key && !this.warnedKeyless.has(name)) {
              this.warnedKeyless.add(name);
              this.log.warn(
                `table ${name} has no primary key: its events have a null key. Fix: ALTER TABLE ${name} ADD PRIMARY KEY (<columns>); or ALTER TABLE ${name} REPLICA IDENTITY FULL;`,
              );
            }
            relations.set(msg.relationOid, {
              shape: tableShape(msg.schema, msg.table, msg.columns, key),
              topic: cdcTopic(this.opts.prefix, msg.schema, msg.table),
              captured: captured.has(name),
            });
            break;
          }
          case "insert":
          case "update":
          case "delete": {
            const rel = relations.get(msg.relationOid);
            if (!txn || !rel) {
              await sink.pushDlq(
                frame.payload,
                `${msg.tag} outside a transaction or for an unknown relation ${msg.relationOid}`,
                this.opts.prefix,
              );
              break;
            }
            if (!rel.captured) break;
            const pos = await this.advance(sink, txn, rel, frame);
            const change =
              msg.tag === "insert"
                ? { op: "c" as const, oldTuple: null, oldKind: null, newTuple: msg.newTuple }
                : msg.tag === "update"
                  ? { op: "u" as const, oldTuple: msg.oldTuple, oldKind: msg.oldKind, newTuple: msg.newTuple }
                  : { op: "d" as const, oldTuple: msg.oldTuple, oldKind: msg.oldKind, newTuple: null };
            let records: EncodedRecord[];
            try {
              records = encodeChange(this.context, rel.shape, change, pos, nowMicros());
            } catch (err) {
              await sink.pushDlq(frame.payload, `change could not be encoded: ${errText(err)}`, rel.topic);
              break;
            }
            for (const r of records) {
              await sink.push({ topic: rel.topic, ...r });
              if (this.opts.tombstones && r.op === "d" && r.key !== null) {
                await sink.push({ topic: rel.topic, key: r.key, value: null });
              }
            }
            this.metrics.changes++;
            run.progressed = true;
            break;
          }
          case "truncate": {
            if (!txn) break;
            for (const oid of msg.relationOids) {
              const rel = relations.get(oid);
              if (!rel?.captured) continue;
              const pos = await this.advance(sink, txn, rel, frame);
              await sink.push({
                topic: rel.topic,
                ...encodeTruncate(this.context, rel.shape, pos, nowMicros()),
              });
            }
            run.progressed = true;
            break;
          }
          case "commit": {
            if (txn?.begun && this.opts.transactionEvents !== false) {
              const dataCollections = [...txn.perTable].map(([data_collection, event_count]) => ({
                data_collection,
                event_count,
              }));
              await sink.push(
                this.txEvent({
                  status: "END",
                  id: transactionId(txn.xid, txn.finalLsn),
                  ts_ms: Number(msg.commitTimeMicros / 1000n),
                  event_count: txn.total,
                  data_collections: dataCollections,
                }),
              );
            }
            if (txn?.begun) this.metrics.transactions++;
            sink.mark(msg.endLsn);
            txn = null;
            break;
          }
          default:
            break; // type, origin, logical messages: nothing to publish
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (statusTimer) clearInterval(statusTimer);
      if (!signal.aborted) await conn?.close();
      await side.end().catch(() => undefined);
    }
  }

  /** Counts the event in its transaction (emitting BEGIN before the first) and returns its position. */
  private async advance(
    sink: KafkaSink,
    txn: OpenTransaction,
    rel: StreamRelation,
    frame: ReplicationFrame & { kind: "xlog" },
  ): Promise<ChangePosition> {
    if (!txn.begun) {
      txn.begun = true;
      if (this.opts.transactionEvents !== false) {
        await sink.push(
          this.txEvent({
            status: "BEGIN",
            id: transactionId(txn.xid, txn.finalLsn),
            ts_ms: Number(txn.commitTimeMicros / 1000n),
            event_count: null,
            data_collections: null,
          }),
        );
      }
    }
    const name = `${rel.shape.schema}.${rel.shape.table}`;
    const perTable = (txn.perTable.get(name) ?? 0) + 1;
    txn.perTable.set(name, perTable);
    txn.total++;
    return {
      xid: txn.xid,
      commitLsn: txn.finalLsn,
      lsn: frame.walStart,
      commitTimeMicros: txn.commitTimeMicros,
      totalOrder: txn.total,
      dataCollectionOrder: perTable,
    };
  }
}

function safeStatus(conn: ReplicationConnection | undefined, lsn: bigint): void {
  try {
    conn?.sendStatus(lsn);
  } catch {
    // the connection is going away; the server keeps the last status it received
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** SQLSTATEs that no reconnect fixes: missing slot or publication, bad credentials, wrong plugin. */
function isFatalPgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "42704" || code === "28000" || code === "28P01" || code === "3D000" || code === "58P01";
}
