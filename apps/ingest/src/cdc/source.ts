/**
 * The CDC source: PostgreSQL logical replication (pgoutput) → Debezium envelopes → Kafka.
 *
 * 1. Manages its publication (the configured tables) and its replication slot.
 * 2. Without a finished snapshot for the slot, (re)creates the slot with EXPORT_SNAPSHOT and emits
 *    every existing row as an `r` event read under that snapshot (snapshot-phase.ts).
 * 3. Streams the slot from its confirmed position (stream-phase.ts), running the incremental
 *    snapshots that rows of the signal table ask for (incremental-snapshot.ts), if one is configured.
 */
import { DEFAULT_ENVELOPE } from "@tributary/shared/cdc/debezium-connector";
import { cdcDlqTopic, cdcTransactionTopic } from "@tributary/shared/contracts/cdc";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { ensureTopics, topicSpec } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import type { Producer } from "kafkajs";
import {
  currentDatabase,
  dropSlot,
  ensurePublication,
  keylessWarning,
  openSqlClient,
  parseTableRef,
  slotInfo,
  type TableInfo,
  type TableRef,
  tableInfo,
  tableName,
} from "./catalog.ts";
import type { EnvelopeContext } from "./envelope.ts";
import { IncrementalSnapshot } from "./incremental-snapshot.ts";
import { IncrementalStateStore } from "./incremental-state.ts";
import { KafkaSink } from "./kafka-sink.ts";
import { CdcMetrics } from "./metrics.ts";
import { KeyHashPartitioner } from "./partitioner.ts";
import { ensureSignalTable } from "./signal.ts";
import { runSnapshot } from "./snapshot-phase.ts";
import { SnapshotStateStore } from "./snapshot-state.ts";
import { APP, CdcFatalError, type CdcSourceOptions, type SourceEnv } from "./source-env.ts";
import { streamChanges } from "./stream-phase.ts";

export { CdcFatalError, type CdcSourceOptions } from "./source-env.ts";

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
    let incremental: IncrementalSnapshot | undefined;
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
      const env = this.env();
      if (!slot) await runSnapshot(env, sink, infos, signal);
      if (this.opts.signalTable) {
        incremental = new IncrementalSnapshot(env, sink, {
          signalTable: parseTableRef(this.opts.signalTable),
          chunkSize: this.opts.incrementalChunkSize ?? 1024,
          store: new IncrementalStateStore(this.opts.stateDir, this.opts.slot),
        });
      }
      if (!signal.aborted) await streamChanges(env, sink, signal, incremental);
      this.metrics.state = "stopped";
    } catch (err) {
      this.metrics.state = "failed";
      this.metrics.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      await incremental?.close();
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
      const published: TableRef[] = [...infos];
      const signalTable = this.opts.signalTable;
      if (signalTable && !this.tables.some((t) => tableName(t) === signalTable)) {
        const ref = parseTableRef(signalTable);
        if (await ensureSignalTable(client, ref))
          this.log.info("created the signal table (CDC_SIGNAL_TABLE)", { table: signalTable });
        published.push(ref);
      }
      const added = (await ensurePublication(client, this.opts.publication, published, this.log)).filter(
        (t) => tableName(t) !== signalTable,
      );
      const state = this.store.read();
      if (state && added.length > 0) {
        this.log.warn(
          "tables added to the publication after the snapshot are streamed from now on but were not snapshotted; signal an incremental snapshot (`bun run cdc --snapshot-table <table>`, with CDC_SIGNAL_TABLE set) or run `bun run cdc --resnapshot` to include their existing rows",
          {
            tables: added.map(tableName),
          },
        );
      }
      this.ctx = {
        prefix: this.opts.prefix,
        db: await currentDatabase(client),
        settings: this.opts.envelope ?? DEFAULT_ENVELOPE,
      };
      return infos;
    } finally {
      await client.end();
    }
  }

  private env(): SourceEnv {
    if (!this.ctx) throw new Error("CdcSource used before prepare()");
    return {
      opts: this.opts,
      log: this.log,
      metrics: this.metrics,
      ctx: this.ctx,
      tables: this.tables,
      txTopic: this.txTopic,
      warnedKeyless: this.warnedKeyless,
    };
  }
}
