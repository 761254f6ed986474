/**
 * (Over 400 lines: DuckDB's chunk layout per column type, int64 halves, inline strings and validity
 * bitmaps, must stay beside the one loop that fills them.)
 *
 * DuckDB side of a flush: records are written column by column into DuckDB data chunks (typed
 * arrays in DuckDB's own layout, copied once per 2,048 rows; one native call per value) and
 * appended to an in-memory staging table per topic and generation. Then one `COPY … TO … (FORMAT parquet,
 * COMPRESSION zstd, PARTITION_BY (pid))` writes the generation's files, one directory per staging
 * partition `pid`: a (topic-partition, Hive partition) pair numbered in JS as rows arrive, so DuckDB
 * partitions on one integer instead of formatting dates and hashing six strings per row.
 * {@link StagedFile.relPath} then names each file in the staging layout (`tp=…/p<pid>_part_N`).
 *
 * Staging columns have the bronze contract's types (BIGINT offsets, TIMESTAMPTZ as UTC µs), written
 * from JS numbers as little-endian int64 (exact below 2^53), so the COPY converts nothing.
 */
import { mkdirSync } from "node:fs";
import { endianness } from "node:os";
import { basename, dirname } from "node:path";
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBInstance,
} from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";
import { openDuck } from "@tributary/shared/duckdb";
import { BRONZE_COLUMNS, partitionPathOf, partitionValuesOf } from "@tributary/shared/lake/layout";
import type { BronzeDataset } from "./datasets.ts";

export interface StageOptions {
  readonly memoryLimitMb: number;
  readonly threads: number;
  /** Where DuckDB may spill (never inside the lake). */
  readonly tempDir: string;
}

/** One topic-partition's rows inside a generation's staging table. */
export interface StageTp {
  /** The `tp` number passed to {@link StageTable.append}. */
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  /** `tp=` directory value (see staging.ts tpDirValue). */
  readonly dir: string;
}

export interface StagedFile {
  /** Where DuckDB wrote the file (inside the COPY directory). */
  readonly localPath: string;
  /**
   * Path in the staging layout, relative to the attempt: `tp=<dir>/p<pid>_part_N.parquet` (flat:
   * the Hive partition is in the commit record, and one directory per topic-partition is cheap).
   */
  readonly relPath: string;
  /** `tp=` directory value the file belongs to. */
  readonly tpDir: string;
  /** Hive values of the file's dataset partition, e.g. `{year:"2024", month:"5", …, pair:"BTC_USD"}`. */
  readonly partition: Readonly<Record<string, string>>;
  /** Hive path segments (`year=2024/…`) without the `tp=` level. */
  readonly hivePath: string;
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Event times travel as JS numbers: beyond ±2^53 µs (years 1684–2255) they are not exact, so they
 * count as unreadable (flagged) like a missing one.
 */
export const MIN_EVENT_US = -Number.MAX_SAFE_INTEGER;
export const MAX_EVENT_US = Number.MAX_SAFE_INTEGER;
const HOUR_US = 3_600_000_000;
const DAY_US = 86_400_000_000;
/** `tp` numbers share a numeric dictionary key with the time bucket: they must stay below this. */
const MAX_TPS = 65_536;

export class BronzeStage {
  private tableSeq = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly appendConn: DuckDBConnection,
    private readonly copyConn: DuckDBConnection,
  ) {}

  static async open(opts: StageOptions): Promise<BronzeStage> {
    const duck = await openDuck({
      settings: {
        memory_limit: `${opts.memoryLimitMb}MB`,
        threads: String(opts.threads),
        temp_directory: opts.tempDir,
        preserve_insertion_order: "false",
        // Give freed buffers back to the OS promptly: the staging tables come and go every flush.
        allocator_flush_threshold: "32MB",
        allocator_background_threads: "true",
      },
    });
    const copyConn = await duck.instance.connect().catch((err: unknown) => {
      duck.close();
      throw err;
    });
    await copyConn.run("SET TimeZone = 'UTC'");
    return new BronzeStage(duck.instance, duck.connection, copyConn);
  }

  /** A fresh staging table with an open appender; the caller closes it via {@link StageTable.seal}. */
  async newTable(ds: BronzeDataset): Promise<StageTable> {
    this.tableSeq += 1;
    const name = `stage_${this.tableSeq}`;
    await this.appendConn.run(createStageTableSql(name));
    const appender = await this.appendConn.createAppender(name);
    return new StageTable(name, ds, appender);
  }

  /**
   * Writes the rows of `tps` (others are left out) as Parquet under `copyDir`, one `pid=N`
   * directory per staging partition, then drops the table.
   */
  async copyToStaging(table: StageTable, tps: readonly StageTp[], copyDir: string): Promise<StagedFile[]> {
    table.seal();
    try {
      if (tps.length === 0 || table.rows === 0) return [];
      for (const t of tps)
        if (t.topic !== table.ds.topic)
          throw new Error(`${t.topic} rows cannot be in ${table.ds.topic}'s staging table`);
      const dirs = new Map(tps.map((t) => [t.id, t]));
      const parts = table.partitions().filter((p) => dirs.has(p.tp));
      if (parts.length === 0) return [];
      mkdirSync(dirname(copyDir), { recursive: true }); // COPY creates the target, not its parents
      const sql = copyToStagingSql(
        table.name,
        table.ds.topic,
        parts.map((p) => p.pid),
        table.partitions().length,
        copyDir,
      );
      const reader = await this.copyConn.runAndReadAll(sql);
      const files: StagedFile[] = [];
      for (const row of reader.getRowObjectsJS()) {
        const localPath = String(row.filename);
        const m = /^pid=(\d+)$/.exec(basename(dirname(localPath)));
        const part = m === null ? undefined : table.partitions()[Number(m[1])];
        const tp = part === undefined ? undefined : dirs.get(part.tp);
        if (part === undefined || tp === undefined)
          throw new Error(`COPY wrote ${localPath}, which is no staging partition of ${table.name}`);
        files.push({
          localPath,
          relPath: `tp=${tp.dir}/p${part.pid}_${basename(localPath)}`,
          tpDir: tp.dir,
          partition: part.values,
          hivePath: part.hivePath,
          rows: Number(row.count),
          bytes: Number(row.file_size_bytes),
        });
      }
      return files.sort((a, b) => (a.relPath < b.relPath ? -1 : 1));
    } finally {
      await this.drop(table);
    }
  }

  /** Discards a table without writing it (a dropped generation). */
  async drop(table: StageTable): Promise<void> {
    table.seal();
    await this.copyConn.run(`DROP TABLE IF EXISTS ${table.name}`);
  }

  close(): void {
    this.appendConn.closeSync();
    this.copyConn.closeSync();
    this.instance.closeSync();
  }
}

/** A staging partition: one topic-partition's rows of one Hive partition. */
export interface StagePartition {
  readonly pid: number;
  readonly tp: number;
  readonly values: Readonly<Record<string, string>>;
  readonly hivePath: string;
}

if (endianness() !== "LE") throw new Error("the bronze staging table writes little-endian column data");

const T = duckdb.Type;
const DUCKDB_TYPES: Record<string, duckdb.Type> = {
  INTEGER: T.INTEGER,
  BIGINT: T.BIGINT,
  BLOB: T.BLOB,
  TIMESTAMPTZ: T.TIMESTAMP_TZ,
  BOOLEAN: T.BOOLEAN,
};
/**
 * Staging columns: `pid`, then the bronze contract's columns except `topic` (constant per table),
 * with the contract's types, so the COPY writes them as they are.
 */
export const STAGE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["pid", "INTEGER"],
  ...BRONZE_COLUMNS.filter(([name]) => name !== "topic"),
];
const COL = Object.fromEntries(STAGE_COLUMNS.map(([name], i) => [name, i])) as Record<string, number>;
const CHUNK_ROWS = duckdb.vector_size();
/** DuckDB's `string_t`: 16 bytes; up to 12 bytes are stored inline after the 4-byte length. */
const STRING_T_BYTES = 16;
const INLINE_MAX = 12;
const TWO_32 = 4_294_967_296;

/** One column's values for the chunk being filled, in DuckDB's in-memory layout. */
class ColumnBuffer {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly u32: Uint32Array<ArrayBuffer>;
  readonly i32: Int32Array<ArrayBuffer>;

  constructor(readonly bytesPerRow: number) {
    const buffer = new ArrayBuffer(CHUNK_ROWS * bytesPerRow);
    this.bytes = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  /** Stores an integral number (|v| < 2^53) as a little-endian int64 at row `i`. */
  setInt64(i: number, v: number): void {
    this.u32[2 * i] = v >>> 0;
    this.i32[2 * i + 1] = Math.floor(v / TWO_32);
  }
}

/** Rows of one topic's dataset and generation, appended in Kafka order. */
export class StageTable {
  rows = 0;
  private sealed = false;
  /** Width of a Hive time partition: an hour when the dataset has an `hour` column, else a day. */
  private readonly bucketUs: number;
  private readonly kraken: boolean;
  /** Staging partitions by symbol, then by `bucket * MAX_TPS + tp`. */
  private readonly dictionary = new Map<string, Map<number, number>>();
  private readonly parts: StagePartition[] = [];
  // The chunk being filled: fixed-width columns and short keys in buffers copied once per chunk,
  // values (and keys over 12 bytes) assigned straight into DuckDB's vectors.
  private readonly chunk: duckdb.DataChunk;
  private readonly wrapped: DuckDBDataChunk;
  private readonly vectors: duckdb.Vector[];
  private readonly pid = new ColumnBuffer(4);
  private readonly partition = new ColumnBuffer(4);
  private readonly offset = new ColumnBuffer(8);
  private readonly key = new ColumnBuffer(STRING_T_BYTES);
  private readonly kafkaTs = new ColumnBuffer(8);
  private readonly ingested = new ColumnBuffer(8);
  private readonly event = new ColumnBuffer(8);
  private readonly fallback = new ColumnBuffer(1);
  /** Validity bitmaps (bit set: not NULL) of the key and value columns, as DuckDB lays them out. */
  private readonly keyValid = new Uint8Array(CHUNK_ROWS / 8);
  private readonly valueValid = new Uint8Array(CHUNK_ROWS / 8);
  /** Keys too long to inline: assigned after the inline ones are copied in. */
  private readonly longKeys: Array<[number, Uint8Array]> = [];
  private n = 0;

  constructor(
    readonly name: string,
    readonly ds: BronzeDataset,
    private readonly appender: DuckDBAppender,
  ) {
    this.bucketUs = ds.partitionColumns.includes("hour") ? HOUR_US : DAY_US;
    this.kraken = ds.kind === "kraken";
    const types = STAGE_COLUMNS.map(([, type]) =>
      duckdb.create_logical_type(DUCKDB_TYPES[type] as duckdb.Type),
    );
    this.chunk = duckdb.create_data_chunk(types);
    this.wrapped = new DuckDBDataChunk(this.chunk);
    this.vectors = STAGE_COLUMNS.map((_, i) => duckdb.data_chunk_get_vector(this.chunk, i));
    this.keyValid.fill(0xff);
    this.valueValid.fill(0xff);
  }

  /**
   * Appends one record of Kafka partition `partition`, staged as topic-partition `tp`. `eventUs`
   * NaN (or beyond ±2^53 µs) means "use the Kafka timestamp, flagged" (and a Kafka timestamp beyond
   * that range means the ingestion time, flagged); `symbol` is ignored for datasets without a
   * symbol partition.
   */
  append(
    tp: number,
    partition: number,
    offset: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    kafkaTsMs: number,
    ingestedUs: number,
    eventUs: number,
    symbol: string,
  ): void {
    if (this.sealed) throw new Error(`staging table ${this.name} is sealed`);
    let ev = eventUs;
    let flagged = 0;
    if (!(ev >= MIN_EVENT_US && ev <= MAX_EVENT_US)) {
      flagged = 1;
      ev = kafkaTsMs * 1000;
      if (!(ev >= MIN_EVENT_US && ev <= MAX_EVENT_US)) ev = ingestedUs;
    }
    const i = this.n;
    this.pid.i32[i] = this.partitionId(tp, ev, this.kraken ? symbol : "");
    this.partition.i32[i] = partition;
    this.offset.setInt64(i, offset);
    this.kafkaTs.setInt64(i, kafkaTsMs * 1000);
    this.ingested.setInt64(i, ingestedUs);
    this.event.setInt64(i, ev);
    this.fallback.bytes[i] = flagged;
    this.setKey(i, key);
    if (value === null) clearBit(this.valueValid, i);
    else
      duckdb.vector_assign_string_element_len(
        this.vectors[COL.kafka_value as number] as duckdb.Vector,
        i,
        value,
      );
    this.rows += 1;
    this.n = i + 1;
    if (this.n === CHUNK_ROWS) this.appendChunk();
  }

  /** The staging partitions seen so far, indexed by `pid`. */
  partitions(): readonly StagePartition[] {
    return this.parts;
  }

  /** Appends the pending chunk and closes the appender (idempotent); no more rows after this. */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    if (this.n > 0) this.appendChunk();
    this.appender.closeSync();
  }

  /** A short key is written inline (length, bytes, zero padding), as DuckDB's string_t does. */
  private setKey(i: number, key: Uint8Array | null): void {
    const at = i * STRING_T_BYTES;
    const out = this.key.bytes;
    if (key === null || key.length > INLINE_MAX) {
      out.fill(0, at, at + STRING_T_BYTES);
      if (key === null) clearBit(this.keyValid, i);
      else this.longKeys.push([i, key]);
      return;
    }
    const len = key.length;
    this.key.u32[i * 4] = len;
    for (let b = 0; b < len; b++) out[at + 4 + b] = key[b] as number;
    for (let b = len; b < INLINE_MAX; b++) out[at + 4 + b] = 0;
  }

  private partitionId(tp: number, eventUs: number, symbol: string): number {
    const bucket = Math.floor(eventUs / this.bucketUs);
    let bySymbol = this.dictionary.get(symbol);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.dictionary.set(symbol, bySymbol);
    }
    const k = bucket * MAX_TPS + tp;
    let pid = bySymbol.get(k);
    if (pid === undefined) {
      if (!Number.isInteger(tp) || tp < 0 || tp >= MAX_TPS)
        throw new Error(`staging tp ${tp} out of range 0..${MAX_TPS - 1}`);
      pid = this.parts.length;
      this.parts.push(this.describe(pid, tp, bucket, symbol));
      bySymbol.set(k, pid);
    }
    return pid;
  }

  private describe(pid: number, tp: number, bucket: number, symbol: string): StagePartition {
    const values = partitionValuesOf(
      this.ds.partitionColumns,
      BigInt(bucket) * BigInt(this.bucketUs),
      symbol,
    );
    const hivePath = partitionPathOf(this.ds.partitionColumns, values);
    return { pid, tp, values, hivePath };
  }

  private appendChunk(): void {
    const n = this.n;
    const copy = (name: string, column: ColumnBuffer): void =>
      duckdb.copy_data_to_vector(
        this.vectors[COL[name] as number] as duckdb.Vector,
        0,
        column.bytes.buffer,
        0,
        n * column.bytesPerRow,
      );
    copy("pid", this.pid);
    copy("kafka_partition", this.partition);
    copy("kafka_offset", this.offset);
    copy("kafka_key", this.key);
    copy("kafka_timestamp", this.kafkaTs);
    copy("ingested_at", this.ingested);
    copy("event_ts", this.event);
    copy("event_ts_from_kafka", this.fallback);
    const keyVector = this.vectors[COL.kafka_key as number] as duckdb.Vector;
    for (const [i, key] of this.longKeys) duckdb.vector_assign_string_element_len(keyVector, i, key);
    this.longKeys.length = 0;
    for (const [name, valid] of [
      ["kafka_key", this.keyValid],
      ["kafka_value", this.valueValid],
    ] as const) {
      const vector = this.vectors[COL[name] as number] as duckdb.Vector;
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(vector, 0, valid.buffer, valid.byteOffset, valid.byteLength);
      valid.fill(0xff);
    }
    duckdb.data_chunk_set_size(this.chunk, n);
    this.appender.appendDataChunk(this.wrapped);
    duckdb.data_chunk_reset(this.chunk);
    this.n = 0;
  }
}

function clearBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] as number) & ~(1 << (i & 7));
}

// ---- SQL templates -------------------------------------------------------------------------

export function createStageTableSql(name: string): string {
  return `CREATE TABLE ${name} (${STAGE_COLUMNS.map(([c, t]) => `${c} ${t}`).join(", ")})`;
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * One COPY for a generation of one topic: bronze columns in BRONZE_COLUMNS order (the staging
 * table already has the contract's types; `topic` is a constant), one directory per staging
 * partition `pid` (which stays in the path only: WRITE_PARTITION_COLUMNS false). Only the rows of
 * `pids` are written.
 */
export function copyToStagingSql(
  table: string,
  topic: string,
  pids: readonly number[],
  all: number,
  copyDir: string,
): string {
  const select = BRONZE_COLUMNS.map(([name, type]) =>
    name === "topic" ? `CAST(${sqlString(topic)} AS ${type}) AS topic` : name,
  ).join(", ");
  const where = pids.length === all ? "" : ` WHERE pid IN (${pids.join(", ")})`;
  return `COPY (SELECT ${select}, pid FROM ${table}${where}) TO ${sqlString(copyDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (pid), WRITE_PARTITION_COLUMNS false, FILENAME_PATTERN 'part_{i}', RETURN_STATS true)`;
}
