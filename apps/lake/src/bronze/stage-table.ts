/**
 * DuckDB side of a flush: records are appended (Appender, no SQL per row) into an in-memory
 * staging table per dataset and generation, then one `COPY … TO … (FORMAT parquet, COMPRESSION
 * zstd, PARTITION_BY (tp, year, …))` writes the generation's Hive-partitioned files into a staging
 * directory, one `tp=` directory per Kafka topic-partition.
 *
 * Staging columns are the cheapest to append: offsets and times as DOUBLE (exact below 2^53) and
 * converted to BIGINT / TIMESTAMPTZ (UTC µs) by the COPY's SELECT.
 */
import { mkdirSync } from "node:fs";
import { dirname, relative, sep } from "node:path";
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { BRONZE_COLUMNS } from "@tributary/shared/lake/layout";
import type { BronzeDataset } from "./datasets.ts";

export interface StageOptions {
  readonly memoryLimitMb: number;
  readonly threads: number;
  /** Where DuckDB may spill (never inside the lake). */
  readonly tempDir: string;
}

/** One topic-partition's rows inside a generation's staging table. */
export interface StageTp {
  /** Value of the `tp` column in the staging table. */
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  /** `tp=` directory value (see staging.ts tpDirValue). */
  readonly dir: string;
}

export interface StagedFile {
  readonly localPath: string;
  /** `tp=` directory value the file came from. */
  readonly tpDir: string;
  /** Hive values of the file's dataset partition, e.g. `{year:"2024", …, symbol:"BTC_USD"}`. */
  readonly partition: Readonly<Record<string, string>>;
  /** Hive path segments (`year=2024/…`) without the `tp=` level. */
  readonly hivePath: string;
  readonly rows: number;
  readonly bytes: number;
}

export class BronzeStage {
  private tableSeq = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly appendConn: DuckDBConnection,
    private readonly copyConn: DuckDBConnection,
  ) {}

  static async open(opts: StageOptions): Promise<BronzeStage> {
    const instance = await DuckDBInstance.create(":memory:", {
      memory_limit: `${opts.memoryLimitMb}MB`,
      threads: String(opts.threads),
      temp_directory: opts.tempDir,
      preserve_insertion_order: "false",
      // Give freed buffers back to the OS promptly: the staging tables come and go every flush.
      allocator_flush_threshold: "32MB",
      allocator_background_threads: "true",
    });
    const appendConn = await instance.connect();
    const copyConn = await instance.connect();
    for (const c of [appendConn, copyConn]) await c.run("SET TimeZone = 'UTC'");
    return new BronzeStage(instance, appendConn, copyConn);
  }

  /** A fresh staging table with an open appender; the caller closes it via {@link StageTable.seal}. */
  async newTable(ds: BronzeDataset): Promise<StageTable> {
    this.tableSeq += 1;
    const name = `stage_${this.tableSeq}`;
    await this.appendConn.run(createStageTableSql(name, ds));
    const appender = await this.appendConn.createAppender(name);
    return new StageTable(name, ds, appender);
  }

  /** Writes the rows of `tps` (others are left out) as Parquet under `targetDir`, then drops the table. */
  async copyToStaging(table: StageTable, tps: readonly StageTp[], targetDir: string): Promise<StagedFile[]> {
    table.seal();
    try {
      if (tps.length === 0 || table.rows === 0) return [];
      mkdirSync(dirname(targetDir), { recursive: true }); // COPY creates the target, not its parents
      const reader = await this.copyConn.runAndReadAll(
        copyToStagingSql(table.name, table.ds, tps, targetDir),
      );
      const files: StagedFile[] = [];
      for (const row of reader.getRowObjectsJS()) {
        const localPath = String(row.filename);
        const segments = relative(targetDir, localPath).split(sep);
        const tpSeg = segments[0] ?? "";
        const hive = segments.slice(1, -1);
        const partition: Record<string, string> = {};
        for (const s of hive) {
          const eq = s.indexOf("=");
          partition[s.slice(0, eq)] = s.slice(eq + 1);
        }
        files.push({
          localPath,
          tpDir: tpSeg.slice("tp=".length),
          partition,
          hivePath: hive.join("/"),
          rows: Number(row.count),
          bytes: Number(row.file_size_bytes),
        });
      }
      return files.sort((a, b) => (a.localPath < b.localPath ? -1 : 1));
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

/** Rows of one dataset and generation, appended in Kafka order. */
export class StageTable {
  rows = 0;
  private sealed = false;

  constructor(
    readonly name: string,
    readonly ds: BronzeDataset,
    private readonly appender: DuckDBAppender,
  ) {}

  /**
   * Appends one record. `eventUs` NaN means "use the Kafka timestamp, flagged"; `symbol` is
   * ignored for datasets without a symbol partition.
   */
  append(
    tp: number,
    offset: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    kafkaTsMs: number,
    ingestedUs: number,
    eventUs: number,
    symbol: string,
  ): void {
    const a = this.appender;
    a.appendInteger(tp);
    a.appendDouble(offset);
    if (key === null) a.appendNull();
    else a.appendBlob(key);
    if (value === null) a.appendNull();
    else a.appendBlob(value);
    a.appendDouble(kafkaTsMs);
    a.appendDouble(ingestedUs);
    if (Number.isNaN(eventUs)) a.appendNull();
    else a.appendDouble(eventUs);
    if (this.ds.kind === "kraken") a.appendVarchar(symbol);
    a.endRow();
    this.rows += 1;
  }

  /** Flushes and closes the appender (idempotent); no more rows after this. */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    this.appender.closeSync();
  }
}

// ---- SQL templates -------------------------------------------------------------------------

export function createStageTableSql(name: string, ds: BronzeDataset): string {
  const symbol = ds.kind === "kraken" ? ", symbol VARCHAR" : "";
  return `CREATE TABLE ${name} (tp INTEGER, kafka_offset DOUBLE, kafka_key BLOB, kafka_value BLOB, kafka_ts_ms DOUBLE, ingested_us DOUBLE, event_us DOUBLE${symbol})`;
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The partition expressions of a dataset, over `ev` (event time as a UTC TIMESTAMP). */
function partitionSelect(ds: BronzeDataset): string {
  const expr: Record<string, string> = {
    year: "strftime(ev, '%Y')",
    month: "strftime(ev, '%m')",
    day: "strftime(ev, '%d')",
    hour: "strftime(ev, '%H')",
    symbol: "symbol",
  };
  return ds.partitionColumns.map((c) => `${expr[c] ?? "NULL"} AS ${c}`).join(", ");
}

/**
 * One COPY for a generation: bronze columns in BRONZE_COLUMNS order (types as in the contract),
 * partitioned by `tp` (topic-partition, staging only) and the dataset's Hive columns, which stay in
 * the path only (Hive convention, WRITE_PARTITION_COLUMNS false).
 */
export function copyToStagingSql(
  table: string,
  ds: BronzeDataset,
  tps: readonly StageTp[],
  targetDir: string,
): string {
  const values = tps
    .map((t) => `(${t.id}, ${sqlString(t.topic)}, ${t.partition}::INTEGER, ${sqlString(t.dir)})`)
    .join(", ");
  const columns: Record<string, string> = {
    topic: "t.topic",
    kafka_partition: "t.kafka_partition",
    kafka_offset: "CAST(s.kafka_offset AS BIGINT)",
    kafka_key: "s.kafka_key",
    kafka_value: "s.kafka_value",
    kafka_timestamp: "CAST(make_timestamp(CAST(s.kafka_ts_ms * 1000 AS BIGINT)) AS TIMESTAMPTZ)",
    ingested_at: "CAST(make_timestamp(CAST(s.ingested_us AS BIGINT)) AS TIMESTAMPTZ)",
    event_ts: "CAST(s.ev AS TIMESTAMPTZ)",
    event_ts_from_kafka: "s.event_us IS NULL",
  };
  const select = BRONZE_COLUMNS.map(([name, type]) => `CAST(${columns[name]} AS ${type}) AS ${name}`).join(
    ",\n    ",
  );
  const partitionBy = ["tp", ...ds.partitionColumns].join(", ");
  return `COPY (
  WITH s AS (
    SELECT *, make_timestamp(CAST(coalesce(event_us, kafka_ts_ms * 1000) AS BIGINT)) AS ev FROM ${table}
  )
  SELECT
    ${select},
    t.dir AS tp, ${partitionSelect(ds)}
  FROM s JOIN (VALUES ${values}) AS t(id, topic, kafka_partition, dir) ON s.tp = t.id
) TO ${sqlString(targetDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (${partitionBy}), WRITE_PARTITION_COLUMNS false, FILENAME_PATTERN 'part_{i}', RETURN_STATS true)`;
}
