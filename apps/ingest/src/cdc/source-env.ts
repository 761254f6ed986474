/**
 * What the CDC source's phases (snapshot-phase.ts, stream-phase.ts) share: the options, the
 * envelope context, metrics, the log, and how a transaction event becomes a Kafka record.
 */
import type { BackoffPolicy } from "@tributary/shared/backoff";
import type { CdcEnvelopeSettings } from "@tributary/shared/cdc/debezium-connector";
import type { CdcTransactionEvent } from "@tributary/shared/contracts/cdc";
import type { KafkaConfig } from "@tributary/shared/kafka";
import type { Logger } from "@tributary/shared/log";
import type { Kafka } from "kafkajs";
import type { TableRef } from "./catalog.ts";
import type { EnvelopeContext } from "./envelope.ts";
import { transactionTexts } from "./envelope-schema.ts";
import type { SinkRecord } from "./kafka-sink.ts";
import type { CdcMetrics } from "./metrics.ts";

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
  /** Value encodings and tombstones, as Debezium's settings (CDC_* in the config). Default: the config's defaults. */
  readonly envelope?: CdcEnvelopeSettings;
  /** BEGIN/END events on `<prefix>.transaction`. Default true. */
  readonly transactionEvents?: boolean;
  /**
   * Debezium's `signal.data.collection` (`schema.table`, CDC_SIGNAL_TABLE): created if missing and
   * published; an `execute-snapshot` row inserted into it starts an incremental snapshot. Default: none.
   */
  readonly signalTable?: string;
  /** Rows per incremental-snapshot chunk. Default 1024 (Debezium's `incremental.snapshot.chunk.size`). */
  readonly incrementalChunkSize?: number;
  readonly statusIntervalMs?: number;
  readonly snapshotBatchRows?: number;
  readonly maxBatchRecords?: number;
  readonly lingerMs?: number;
  readonly maxRecordBytes?: number;
  readonly reconnect?: BackoffPolicy;
  /** Consecutive failed connection attempts before the source gives up. */
  readonly maxReconnectAttempts?: number;
  /** Called after every Kafka acknowledgement with the confirmed LSN (benchmarks, tests). */
  readonly onConfirmed?: (lsn: bigint) => void;
}

/** An error that reconnecting cannot fix. */
export class CdcFatalError extends Error {
  override readonly name = "CdcFatalError";
}

export interface SourceEnv {
  readonly opts: CdcSourceOptions;
  readonly log: Logger;
  readonly metrics: CdcMetrics;
  readonly ctx: EnvelopeContext;
  readonly tables: readonly TableRef[];
  readonly txTopic: string;
  /** Tables already warned about (no primary key), so each is warned once. */
  readonly warnedKeyless: Set<string>;
}

export const APP = "tributary-cdc";

export function txRecord(env: SourceEnv, ev: CdcTransactionEvent): SinkRecord {
  return { topic: env.txTopic, ...transactionTexts(ev, env.ctx.settings?.schemas ?? false) };
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
