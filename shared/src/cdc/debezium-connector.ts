/**
 * The Debezium PostgreSQL connector configuration that matches Tributary's CDC settings: the same
 * tables, the same envelope encodings (Debezium's own setting names), transaction metadata on and
 * schemas as CDC_SCHEMAS says, so the two tools' topics can be compared event for event (docs/cdc.md "Debezium").
 */
import type { Config } from "../config.ts";

export type CdcEnvelopeSettings = Config["cdc"]["envelope"];

/** The configuration's defaults (CDC_* in shared/src/config.ts; a test keeps them equal). */
export const DEFAULT_ENVELOPE: CdcEnvelopeSettings = Object.freeze({
  decimalHandlingMode: "string",
  timePrecisionMode: "isostring",
  intervalHandlingMode: "string",
  tombstonesOnDelete: true,
  schemas: false,
});

export interface DebeziumConnectorOptions {
  readonly pgUrl: string;
  readonly tables: readonly string[];
  readonly topicPrefix: string;
  /** Replication slot; the publication gets the same name. */
  readonly slot: string;
  readonly envelope: CdcEnvelopeSettings;
  readonly topicPartitions: number;
  readonly replicationFactor: number;
}

const regexQuote = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function debeziumConnectorConfig(o: DebeziumConnectorOptions): Record<string, string> {
  const url = new URL(o.pgUrl);
  return {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": "1",
    "plugin.name": "pgoutput",
    "database.hostname": url.hostname,
    "database.port": url.port || "5432",
    "database.user": decodeURIComponent(url.username),
    "database.password": decodeURIComponent(url.password),
    "database.dbname": decodeURIComponent(url.pathname.replace(/^\//, "")),
    "topic.prefix": o.topicPrefix,
    "slot.name": o.slot,
    "publication.name": o.slot,
    "publication.autocreate.mode": "filtered",
    "table.include.list": o.tables.map(regexQuote).join(","),
    "snapshot.mode": "initial",
    "provide.transaction.metadata": "true",
    "decimal.handling.mode": o.envelope.decimalHandlingMode,
    "time.precision.mode": o.envelope.timePrecisionMode,
    "interval.handling.mode": o.envelope.intervalHandlingMode,
    "tombstones.on.delete": String(o.envelope.tombstonesOnDelete),
    "binary.handling.mode": "bytes",
    // Tributary emits truncates (silver needs them); Debezium skips them unless told otherwise.
    "skipped.operations": "none",
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": String(o.envelope.schemas),
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": String(o.envelope.schemas),
    // With schemas, each column's PostgreSQL type, length and scale travel as schema parameters.
    ...(o.envelope.schemas ? { "column.propagate.source.type": ".*" } : {}),
    "topic.creation.default.partitions": String(o.topicPartitions),
    "topic.creation.default.replication.factor": String(o.replicationFactor),
  };
}

/** The stack's own comparison connector: Tributary's tables and settings, Debezium's prefix and slot. */
export function stackDebeziumConnector(
  config: Pick<Config, "postgres" | "cdc" | "debezium" | "kafka">,
): Record<string, string> {
  return debeziumConnectorConfig({
    pgUrl: config.postgres.url,
    tables: config.cdc.tables,
    topicPrefix: config.debezium.topicPrefix,
    slot: config.debezium.slot,
    envelope: config.cdc.envelope,
    topicPartitions: config.kafka.topicPartitions,
    replicationFactor: config.kafka.replicationFactor,
  });
}
