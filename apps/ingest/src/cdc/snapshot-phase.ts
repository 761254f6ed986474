/**
 * The snapshot phase: creates the replication slot with EXPORT_SNAPSHOT, reads every captured table
 * under that snapshot (snapshot.ts) as `r` events framed by a snapshot BEGIN/END on the transaction
 * topic, and records the snapshot as done once Kafka acknowledged all of it (snapshot-state.ts).
 */
import { type CdcSnapshotMarker, cdcSnapshotId } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { nowMicros } from "@tributary/shared/time";
import type pg from "pg";
import { openSqlClient, type TableInfo, tableName } from "./catalog.ts";
import { type EncodedRecord, encodeSnapshotRead, type TableShape, tableShape } from "./envelope.ts";
import type { KafkaSink } from "./kafka-sink.ts";
import { formatLsn } from "./lsn.ts";
import type { Tuple } from "./pgoutput.ts";
import { ReplicationConnection } from "./replication-connection.ts";
import { beginSnapshot, readSnapshot } from "./snapshot.ts";
import { SnapshotStateStore } from "./snapshot-state.ts";
import { APP, CdcFatalError, errText, type SourceEnv, txRecord } from "./source-env.ts";

export async function runSnapshot(
  env: SourceEnv,
  sink: KafkaSink,
  tables: readonly TableInfo[],
  signal: AbortSignal,
): Promise<void> {
  const { opts, metrics, log } = env;
  const store = new SnapshotStateStore(opts.stateDir, opts.slot);
  metrics.state = "snapshot";
  const repl = await ReplicationConnection.open(opts.pgUrl, APP);
  let reader: pg.Client | undefined;
  try {
    const created = await repl.createSlot(opts.slot, true);
    if (!created.snapshotName)
      throw new CdcFatalError("PostgreSQL did not export a snapshot for the new slot");
    reader = await openSqlClient(opts.pgUrl, APP);
    await beginSnapshot(reader, created.snapshotName);
    await repl.close(); // the snapshot now lives in the reader's transaction
    const cp = created.consistentPoint;
    const id = cdcSnapshotId(cp);
    const startedMicros = nowMicros();
    log.info("snapshot started", {
      slot: opts.slot,
      consistent_point: formatLsn(cp),
      tables: tables.map(tableName),
    });
    const counts = new Map(tables.map((t) => [tableName(t), 0]));
    if (opts.transactionEvents !== false) {
      await sink.push(
        txRecord(env, {
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
        tableShape(
          t.schema,
          t.table,
          t.columns,
          t.primaryKey.length > 0 ? t.primaryKey : null,
          env.ctx.settings,
        ),
      ]),
    );
    let pending: { table: TableInfo; shape: TableShape; tuple: Tuple } | undefined;
    let first = true;
    let previousTable: number | undefined;
    /** `next`: the table of the row after this one (undefined: this is the snapshot's last row). */
    const emit = async (
      row: { table: TableInfo; shape: TableShape; tuple: Tuple },
      next: number | undefined,
    ): Promise<void> => {
      const marker = snapshotMarker(
        first,
        previousTable !== row.table.oid,
        next === undefined,
        next !== row.table.oid,
      );
      first = false;
      previousTable = row.table.oid;
      const topic = cdcTopic(opts.prefix, row.table.schema, row.table.table);
      let rec: EncodedRecord;
      try {
        rec = encodeSnapshotRead(
          env.ctx,
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
      metrics.snapshotRows++;
      counts.set(tableName(row.table), (counts.get(tableName(row.table)) ?? 0) + 1);
    };
    let seen = 0;
    for await (const batch of readSnapshot(reader, tables, opts.snapshotBatchRows)) {
      if (signal.aborted)
        throw new CdcFatalError("stopped during the snapshot; it starts over on the next run");
      const shape = shapes.get(batch.table.oid) as TableShape;
      for (const tuple of batch.rows) {
        if (pending) await emit(pending, batch.table.oid);
        pending = { table: batch.table, shape, tuple };
      }
      seen += batch.rows.length;
      if (seen % 50_000 < batch.rows.length)
        log.info("snapshot progress", { rows: seen, table: tableName(batch.table) });
    }
    if (pending) await emit(pending, undefined);
    if (opts.transactionEvents !== false) {
      const dataCollections = [...counts].map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
      }));
      const total = dataCollections.reduce((s, d) => s + d.event_count, 0);
      await sink.push(
        txRecord(env, {
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
    store.write({
      v: 1,
      slot: opts.slot,
      publication: opts.publication,
      prefix: opts.prefix,
      consistentPoint: formatLsn(cp),
      tables: tables.map(tableName),
      rows: metrics.snapshotRows,
      completedAt: new Date().toISOString(),
    });
    log.info("snapshot done and acknowledged by Kafka", {
      rows: metrics.snapshotRows,
      consistent_point: formatLsn(cp),
    });
  } finally {
    await repl.close();
    await reader?.end().catch(() => undefined);
  }
}

/**
 * Debezium's `source.snapshot`: `first` for the snapshot's first row, `last` for its last, and per
 * table `first_in_data_collection` / `last_in_data_collection` (the last wins for a one-row table),
 * `true` for every other row.
 */
export function snapshotMarker(
  firstOverall: boolean,
  firstOfTable: boolean,
  lastOverall: boolean,
  lastOfTable: boolean,
): CdcSnapshotMarker {
  if (firstOverall) return "first";
  if (lastOverall) return "last";
  if (lastOfTable) return "last_in_data_collection";
  if (firstOfTable) return "first_in_data_collection";
  return "true";
}
