/**
 * CDC topics `<prefix>.<schema>.<table>` (key = primary key): the Debezium PostgreSQL JSON envelope
 * with schemas disabled, exactly as Debezium 3.6 writes it under the same settings, so tools built
 * for Debezium read it. Version 2 of the CDC contract (1 had Tributary's own date, time and interval
 * text, key-only `before`s, no tombstones); the remaining differences are in docs/cdc.md ("Envelope").
 */
export const CDC_CONTRACT_VERSION = 2 as const;

/** `source.version`: who wrote the event (Debezium writes its own release here). */
export const CDC_SOURCE_VERSION = "tributary-cdc-2";
export const CDC_CONNECTOR = "postgresql";

/** r = snapshot read, c = insert, u = update, d = delete, t = truncate (key null, no before/after). */
export type CdcOp = "r" | "c" | "u" | "d" | "t";

/**
 * `source.snapshot` as Debezium's connector writes it: a string, `false` for streamed changes;
 * `first_in_data_collection` / `last_in_data_collection` mark each table's first and last row;
 * `incremental` for the reads of an incremental snapshot, which carry the stream position where they
 * were emitted in `source.sequence` (a commit LSN, unlike an initial snapshot's null).
 */
export type CdcSnapshotMarker =
  | "first"
  | "first_in_data_collection"
  | "true"
  | "last_in_data_collection"
  | "last"
  | "incremental"
  | "false";

/** Debezium's `unavailable.value.placeholder`: an unchanged TOASTed value that PostgreSQL did not send. */
export const UNAVAILABLE_VALUE = "__debezium_unavailable_value";

/**
 * A column value in JSON. numeric → exact decimal string; date → `YYYY-MM-DD`; timestamp →
 * `YYYY-MM-DDTHH:MM:SS.ffffff`; timestamptz → the same in UTC with `Z`; json/jsonb → the JSON text
 * as a string; arrays → JSON arrays; int2/int4/int8/float → JSON numbers (int8 written exactly);
 * bool → boolean; bytea → base64; everything else → PostgreSQL's text form.
 */
export type CdcValue = string | number | boolean | null | readonly CdcValue[];
export type CdcRow = Readonly<Record<string, CdcValue>>;

/** Message key: the primary-key columns in key order, or null for a table without one. */
export type CdcKey = CdcRow | null;

export interface CdcSourceInfo {
  readonly version: string;
  readonly connector: typeof CDC_CONNECTOR;
  /** The topic prefix (Debezium's logical server name). */
  readonly name: string;
  /** Commit time of the transaction (snapshot: when the snapshot started), epoch ms / µs / ns. */
  readonly ts_ms: number;
  readonly ts_us: number;
  /** Exceeds 2^53: read it with a lossless JSON parser if the exact value matters (it is ts_us·1000). */
  readonly ts_ns: number;
  readonly snapshot: CdcSnapshotMarker;
  readonly db: string;
  /**
   * JSON text `["<commit LSN>","<LSN>"]` (decimal LSNs). The first element is the LSN of the commit
   * record of the event's own transaction (null for snapshot reads); see {@link cdcOrderOf}.
   */
  readonly sequence: string;
  readonly schema: string;
  readonly table: string;
  /** PostgreSQL transaction id (null for snapshot reads). */
  readonly txId: number | null;
  /** WAL position of the change record; for snapshot reads, the snapshot's consistent point. */
  readonly lsn: number;
  readonly xmin: null;
}

/** Debezium's transaction metadata enrichment (`provide.transaction.metadata`). */
export interface CdcTransactionInfo {
  /** `<txId>:<commit LSN>`, the same for BEGIN, END and every event of the transaction. */
  readonly id: string;
  readonly total_order: number;
  readonly data_collection_order: number;
}

export interface CdcEnvelope {
  readonly before: CdcRow | null;
  readonly after: CdcRow | null;
  readonly source: CdcSourceInfo;
  readonly transaction: CdcTransactionInfo | null;
  readonly op: CdcOp;
  /** When Tributary processed the event, epoch ms / µs / ns. */
  readonly ts_ms: number;
  readonly ts_us: number;
  readonly ts_ns: number;
}

/**
 * Topic `<prefix>.transaction`, key `{"id": …}`: a BEGIN and an END per transaction. A snapshot is
 * framed the same way with id `snapshot:<consistent point LSN>`; its END marks it complete.
 */
export interface CdcTransactionEvent {
  readonly status: "BEGIN" | "END";
  readonly id: string;
  readonly ts_ms: number;
  readonly event_count: number | null;
  readonly data_collections:
    | readonly { readonly data_collection: string; readonly event_count: number }[]
    | null;
}

export const cdcTransactionTopic = (prefix: string): string => `${prefix}.transaction`;
export const cdcDlqTopic = (prefix: string): string => `${prefix}.dlq`;
export const cdcSnapshotId = (consistentPoint: bigint): string => `snapshot:${consistentPoint}`;

/**
 * Where an event sits in commit order: by commit LSN, a snapshot read before a change committed at
 * its consistent point, then by WAL position inside the transaction.
 */
export interface CdcOrder {
  readonly snapshot: boolean;
  /** The snapshot's consistent point for reads; the commit record's LSN for changes. */
  readonly commitLsn: bigint;
  readonly lsn: bigint;
}

export class CdcContractError extends Error {
  override readonly name = "CdcContractError";
}

export function cdcOrderOf(source: Pick<CdcSourceInfo, "sequence" | "lsn" | "snapshot">): CdcOrder {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source.sequence);
  } catch {
    throw new CdcContractError(`source.sequence is not JSON: ${JSON.stringify(source.sequence)}`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) {
    throw new CdcContractError(`source.sequence is not a pair: ${JSON.stringify(source.sequence)}`);
  }
  const [commit, lsn] = parsed as unknown[];
  if (typeof lsn !== "string" || !/^\d+$/.test(lsn)) {
    throw new CdcContractError(`source.sequence has no LSN: ${JSON.stringify(source.sequence)}`);
  }
  if (commit === null) return { snapshot: true, commitLsn: BigInt(lsn), lsn: BigInt(lsn) };
  if (typeof commit !== "string" || !/^\d+$/.test(commit)) {
    throw new CdcContractError(`source.sequence has a bad commit LSN: ${JSON.stringify(source.sequence)}`);
  }
  return { snapshot: false, commitLsn: BigInt(commit), lsn: BigInt(lsn) };
}

/**
 * Total commit order of events. A snapshot reads the table as of its consistent point, so its rows
 * sit at (consistent point, before any change committed there). A completed snapshot replaces the
 * table's state at that point (docs/cdc.md "Snapshot"), which also discards rows of an unfinished one.
 */
export function compareCdcOrder(a: CdcOrder, b: CdcOrder): number {
  if (a.commitLsn !== b.commitLsn) return a.commitLsn < b.commitLsn ? -1 : 1;
  if (a.snapshot !== b.snapshot) return a.snapshot ? -1 : 1;
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return 0;
}
