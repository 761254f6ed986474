/**
 * The stream phase: follows the replication slot from its confirmed position, turns pgoutput
 * messages into change events in commit order, framed by transaction BEGIN/END events, and hands
 * them to the KafkaSink, which confirms an LSN to PostgreSQL only once Kafka acknowledged every
 * change up to it. A lost connection is retried with capped backoff; the server replays from the
 * confirmed LSN, so duplicates are possible and gaps are not.
 */

import { Backoff } from "@tributary/shared/backoff";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { sleepUnlessAborted } from "@tributary/shared/sleep";
import { nowMicros } from "@tributary/shared/time";
import { catalogColumns, openSqlClient, primaryKeyOf, tableName } from "./catalog.ts";
import {
  type ChangePosition,
  encodeChange,
  encodeTruncate,
  type TableShape,
  tableShape,
  transactionId,
} from "./envelope.ts";
import type { IncrementalSnapshot } from "./incremental-snapshot.ts";
import type { KafkaSink } from "./kafka-sink.ts";
import { decodePgoutput, type PgoutputMessage } from "./pgoutput.ts";
import { ReplicationConnection, type ReplicationFrame } from "./replication-connection.ts";
import { APP, CdcFatalError, errText, type SourceEnv, txRecord } from "./source-env.ts";

interface OpenTransaction {
  readonly xid: number;
  readonly finalLsn: bigint;
  readonly commitTimeMicros: bigint;
  total: number;
  readonly perTable: Map<string, number>;
  begun: boolean;
}

interface StreamRelation {
  /** `schema.table`. */
  readonly name: string;
  readonly shape: TableShape;
  readonly topic: string;
  readonly captured: boolean;
  /** The signal table (CDC_SIGNAL_TABLE): its inserts are signals for the incremental snapshot. */
  readonly signal: boolean;
}

/** `incremental`: incremental snapshots driven by the signal table (CDC_SIGNAL_TABLE), if configured. */
export async function streamChanges(
  env: SourceEnv,
  sink: KafkaSink,
  signal: AbortSignal,
  incremental?: IncrementalSnapshot,
): Promise<void> {
  const { opts, metrics, log } = env;
  const backoff = new Backoff(opts.reconnect ?? { initialMs: 200, maxMs: 10_000 });
  const maxAttempts = opts.maxReconnectAttempts ?? 60;
  while (!signal.aborted) {
    const confirmedBefore = sink.confirmedLsn;
    try {
      await streamOnce(env, sink, signal, incremental);
    } catch (err) {
      if (err instanceof CdcFatalError || isFatalPgError(err)) throw err;
      metrics.reconnects++;
      metrics.lastError = errText(err);
      log.warn("replication stream lost; reconnecting", {
        error: errText(err),
        attempt: backoff.attempts + 1,
      });
    }
    if (signal.aborted) break;
    metrics.state = "reconnecting";
    await settle(sink, log); // an unfinished transaction is replayed by the server: duplicates, never gaps
    // Progress is a confirmed LSN: changes read while Kafka refuses them do not reset the backoff.
    if (sink.confirmedLsn > confirmedBefore) backoff.reset();
    if (backoff.attempts >= maxAttempts) {
      throw new CdcFatalError(
        `replication stream failed ${maxAttempts} times in a row; last error: ${metrics.lastError}`,
      );
    }
    if (!(await sleepUnlessAborted(backoff.next(), signal))) break;
  }
  await sink.flush();
}

/**
 * Sends what the sink holds; if Kafka refuses it (a broker outage), drops what is not confirmed so the
 * next connection restarts from the confirmed LSN, which PostgreSQL replays.
 */
async function settle(sink: KafkaSink, log: SourceEnv["log"]): Promise<void> {
  try {
    await sink.flush();
  } catch {
    // the sink logged Kafka's refusal
  }
  const dropped = await sink.recover();
  if (dropped > 0)
    log.warn("dropped changes Kafka did not acknowledge; PostgreSQL replays them from the confirmed LSN", {
      records: dropped,
      confirmed_lsn: String(sink.confirmedLsn),
    });
}

/** One replication connection's lifetime: until the server ends it, Kafka refuses a batch, or abort. */
async function streamOnce(
  env: SourceEnv,
  sink: KafkaSink,
  signal: AbortSignal,
  incremental: IncrementalSnapshot | undefined,
): Promise<void> {
  const { opts, metrics, log } = env;
  const side = await openSqlClient(opts.pgUrl, APP);
  let conn: ReplicationConnection | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let unsubscribe: () => void = () => undefined;
  const onAbort = (): void => {
    void (async () => {
      await sink.flush().catch(() => undefined);
      safeStatus(conn, sink.confirmedLsn);
      await conn?.close();
    })();
  };
  try {
    conn = await ReplicationConnection.open(opts.pgUrl, APP);
    const frames = conn.start({
      slot: opts.slot,
      publications: [opts.publication],
      startLsn: 0n,
    });
    signal.addEventListener("abort", onAbort, { once: true });
    // Kafka refused a batch: end this connection; the next one starts from the confirmed LSN.
    unsubscribe = sink.onFailure(() => void conn?.close());
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
    statusTimer = setInterval(() => sendStatus(false), opts.statusIntervalMs ?? 1000);
    metrics.state = "streaming";
    const relations = new Map<number, StreamRelation>();
    const captured = new Set(env.tables.map(tableName));
    let txn: OpenTransaction | null = null;
    await incremental?.resume();

    for await (const frame of frames) {
      if (signal.aborted) break;
      metrics.seenWalEnd(frame.walEnd);
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
          opts.prefix,
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
          if (!key && !env.warnedKeyless.has(name)) {
            env.warnedKeyless.add(name);
            log.warn(
              `table ${name} has no primary key: its events have a null key. Fix: ALTER TABLE ${name} ADD PRIMARY KEY (<columns>); or ALTER TABLE ${name} REPLICA IDENTITY FULL;`,
            );
          }
          // The Relation message has names, types and modifiers; nullability and defaults (what
          // Debezium writes for columns a delete does not carry) come from the catalog.
          const details = new Map((await catalogColumns(side, msg.relationOid)).map((c) => [c.name, c]));
          const columns = msg.columns.map((c) => ({
            ...c,
            notNull: details.get(c.name)?.notNull ?? false,
            defaultText: details.get(c.name)?.defaultText ?? null,
            typeName: details.get(c.name)?.typeName,
            enumValues: details.get(c.name)?.enumValues,
          }));
          relations.set(msg.relationOid, {
            name,
            signal: incremental?.isSignalTable(msg.schema, msg.table) ?? false,
            shape: tableShape(msg.schema, msg.table, columns, key, env.ctx.settings),
            topic: cdcTopic(opts.prefix, msg.schema, msg.table),
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
              opts.prefix,
            );
            break;
          }
          if (rel.signal && msg.tag === "insert") {
            const at = { commitLsn: txn.finalLsn, lsn: frame.walStart };
            await incremental?.onSignalRow(msg.newTuple, at);
          }
          if (!rel.captured) break;
          const change =
            msg.tag === "insert"
              ? { op: "c" as const, oldTuple: null, oldKind: null, newTuple: msg.newTuple }
              : msg.tag === "update"
                ? { op: "u" as const, oldTuple: msg.oldTuple, oldKind: msg.oldKind, newTuple: msg.newTuple }
                : { op: "d" as const, oldTuple: msg.oldTuple, oldKind: msg.oldKind, newTuple: null };
          if (incremental?.watching(rel.name))
            incremental.onChange(rel.name, rel.shape, change.oldTuple, change.newTuple);
          let encoded: ReturnType<typeof encodeChange>;
          try {
            encoded = encodeChange(env.ctx, rel.shape, change, position(txn, rel, frame), nowMicros());
          } catch (err) {
            await sink.pushDlq(frame.payload, `change could not be encoded: ${errText(err)}`, rel.topic);
            break;
          }
          await advance(env, sink, txn, rel, frame, encoded.dataEvents);
          for (const r of encoded.records) await sink.push({ topic: rel.topic, ...r });
          metrics.changes++;
          break;
        }
        case "truncate": {
          if (!txn) break;
          for (const oid of msg.relationOids) {
            const rel = relations.get(oid);
            if (!rel?.captured) continue;
            incremental?.onTruncate(rel.name);
            const pos = position(txn, rel, frame);
            await advance(env, sink, txn, rel, frame, 1);
            await sink.push({ topic: rel.topic, ...encodeTruncate(env.ctx, rel.shape, pos, nowMicros()) });
          }
          break;
        }
        case "commit": {
          if (txn?.begun && opts.transactionEvents !== false) {
            const dataCollections = [...txn.perTable].map(([data_collection, event_count]) => ({
              data_collection,
              event_count,
            }));
            await sink.push(
              txRecord(env, {
                status: "END",
                id: transactionId(txn.xid, msg.endLsn),
                ts_ms: Number(msg.commitTimeMicros / 1000n),
                event_count: txn.total,
                data_collections: dataCollections,
              }),
            );
          }
          if (txn?.begun) metrics.transactions++;
          sink.mark(msg.endLsn);
          txn = null;
          break;
        }
        default:
          break; // type, origin, logical messages: nothing to publish
      }
    }
    sink.throwIfFailed();
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
    if (statusTimer) clearInterval(statusTimer);
    if (!signal.aborted) await conn?.close();
    await side.end().catch(() => undefined);
  }
}

/** Where the next event of the transaction sits (before `advance` counts it). */
function position(
  txn: OpenTransaction,
  rel: StreamRelation,
  frame: ReplicationFrame & { kind: "xlog" },
): ChangePosition {
  const name = `${rel.shape.schema}.${rel.shape.table}`;
  return {
    xid: txn.xid,
    commitLsn: txn.finalLsn,
    lsn: frame.walStart,
    commitTimeMicros: txn.commitTimeMicros,
    totalOrder: txn.total + 1,
    dataCollectionOrder: (txn.perTable.get(name) ?? 0) + 1,
  };
}

/**
 * Counts `events` data events in their transaction, emitting BEGIN before the first; its id carries
 * the first event's LSN, as Debezium's does.
 */
async function advance(
  env: SourceEnv,
  sink: KafkaSink,
  txn: OpenTransaction,
  rel: StreamRelation,
  frame: ReplicationFrame & { kind: "xlog" },
  events: number,
): Promise<void> {
  if (!txn.begun) {
    txn.begun = true;
    if (env.opts.transactionEvents !== false) {
      await sink.push(
        txRecord(env, {
          status: "BEGIN",
          id: transactionId(txn.xid, frame.walStart),
          ts_ms: Number(txn.commitTimeMicros / 1000n),
          event_count: null,
          data_collections: null,
        }),
      );
    }
  }
  const name = `${rel.shape.schema}.${rel.shape.table}`;
  txn.perTable.set(name, (txn.perTable.get(name) ?? 0) + events);
  txn.total += events;
}

function safeStatus(conn: ReplicationConnection | undefined, lsn: bigint): void {
  try {
    conn?.sendStatus(lsn);
  } catch {
    // the connection is going away; the server keeps the last status it received
  }
}

/** SQLSTATEs that no reconnect fixes: missing slot or publication, bad credentials, wrong plugin. */
function isFatalPgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "42704" || code === "28000" || code === "28P01" || code === "3D000" || code === "58P01";
}
