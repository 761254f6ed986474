/**
 * Test support: writes bronze exactly as the bronze writer commits it (shared/src/lake/layout.ts
 * BRONZE_COLUMNS, Hive partitions year/month/day/hour/symbol by event time, one append record per
 * Kafka topic-partition in the commit log, files moved into the tree after the record), so silver can
 * be tested before and independently of the real writer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import {
  type AppendCommit,
  appendCommitId,
  type CommitLog,
  type CompactionCommit,
  compactionCommitId,
} from "@tributary/shared/lake/commit-log";
import {
  HOUR_PARTITION_KEYS,
  hourPartitionPath,
  hourPath,
  pairOfSymbol,
  partitionValues,
  partitionValuesOf,
} from "@tributary/shared/lake/layout";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { openDuckSession, sqlString } from "../runtime/duckdb.ts";

export interface BronzeRecord {
  readonly topic?: string;
  readonly partition: number;
  readonly offset: number;
  /** Kafka key (the symbol); `null` for none. */
  readonly key?: string | null;
  /** Kafka value: text (UTF-8) or raw bytes. */
  readonly value: string | Uint8Array;
  readonly ingestedAt: bigint;
  /** Partition time; default: the message's `ts` when it parses, else `kafkaTimestamp`. */
  readonly eventTs?: bigint;
  readonly kafkaTimestamp?: bigint;
  /** The `pair=` partition value; default: from the key (a CDC fixture sets one value, not one per key). */
  readonly symbol?: string;
}

export interface CommitOptions {
  readonly dataset?: string;
  /** Write the record and stage the files, but do not move them in (a writer mid-publish). */
  readonly leaveStaged?: boolean;
  readonly committedAt?: bigint;
}

let counter = 0;

/** Commits `records` as bronze (one append record per topic-partition) and returns the records. */
export async function commitBronze(
  log: CommitLog,
  records: readonly BronzeRecord[],
  opts: CommitOptions = {},
): Promise<AppendCommit[]> {
  const dataset = opts.dataset ?? "kraken_trades";
  const byTp = new Map<string, BronzeRecord[]>();
  for (const r of records) {
    const k = `${r.topic ?? "kraken.trades"}\u0000${r.partition}`;
    const list = byTp.get(k);
    if (list) list.push(r);
    else byTp.set(k, [r]);
  }
  const out: AppendCommit[] = [];
  for (const list of byTp.values()) out.push(await commitTopicPartition(log, dataset, list, opts));
  return out;
}

async function commitTopicPartition(
  log: CommitLog,
  dataset: string,
  list: readonly BronzeRecord[],
  opts: CommitOptions,
): Promise<AppendCommit> {
  const first = list[0] as BronzeRecord;
  const topic = first.topic ?? "kraken.trades";
  const ds = { layer: "bronze", name: dataset } as const;
  const firstOffset = await log.resumeOffset(ds, topic, first.partition);
  const lastOffset = list.reduce((m, r) => (BigInt(r.offset) > m ? BigInt(r.offset) : m), firstOffset);
  const work = mkdtempSync(join(tmpdir(), "bronze-fixture-"));
  const writer = `fixture${++counter}`;
  try {
    // Each record's partition once: parsing every message again per staged file made large fixtures quadratic.
    const parts = list.map(partitionOf);
    const rowsPerPartition = new Map<string, number>();
    for (const { eventTs, pair } of parts) {
      const key = `${hourPath(eventTs)}/${pair}`;
      rowsPerPartition.set(key, (rowsPerPartition.get(key) ?? 0) + 1);
    }
    const lines = list.map((r, i) => {
      const { eventTs, fromKafka, pair } = parts[i] as RecordPartition;
      return JSON.stringify({
        topic,
        kafka_partition: r.partition,
        kafka_offset: r.offset,
        key: r.key === undefined ? null : r.key,
        value_b64: Buffer.from(
          typeof r.value === "string" ? new TextEncoder().encode(r.value) : r.value,
        ).toString("base64"),
        kafka_timestamp: r.kafkaTimestamp === undefined ? null : r.kafkaTimestamp.toString(),
        ingested_at: r.ingestedAt.toString(),
        event_ts: eventTs.toString(),
        event_ts_from_kafka: fromKafka,
        symbol_part: pair,
      });
    });
    const input = join(work, "in.ndjson");
    writeFileSync(input, `${lines.join("\n")}\n`);
    using duck = await openDuckSession();
    await duck.run(`COPY (
  SELECT topic, kafka_partition::INTEGER AS kafka_partition, kafka_offset::BIGINT AS kafka_offset,
    CASE WHEN key IS NULL THEN NULL ELSE encode(key) END AS kafka_key,
    from_base64(value_b64) AS kafka_value,
    make_timestamptz(kafka_timestamp::BIGINT) AS kafka_timestamp,
    make_timestamptz(ingested_at::BIGINT) AS ingested_at,
    make_timestamptz(event_ts::BIGINT) AS event_ts,
    event_ts_from_kafka,
    epoch_us(date_trunc('hour', make_timestamptz(event_ts::BIGINT))) AS p_hour_us,
    symbol_part AS p_pair
  FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = {
    topic: 'VARCHAR', kafka_partition: 'BIGINT', kafka_offset: 'BIGINT', key: 'VARCHAR', value_b64: 'VARCHAR',
    kafka_timestamp: 'VARCHAR', ingested_at: 'VARCHAR', event_ts: 'VARCHAR', event_ts_from_kafka: 'BOOLEAN', symbol_part: 'VARCHAR'})
  ORDER BY kafka_offset
) TO ${sqlString(join(work, "out"))} (FORMAT parquet, PARTITION_BY (p_hour_us, p_pair), FILENAME_PATTERN 'f{i}')`);
    const glob = new Bun.Glob("**/*.parquet");
    const staged = [...glob.scanSync({ cwd: join(work, "out") })].sort();
    const files = [];
    const stagedKeys: string[] = [];
    for (const [n, rel] of staged.entries()) {
      const m = /p_hour_us=(-?\d+)\/p_pair=([^/]+)\//.exec(rel);
      if (!m) throw new Error(`fixture: unexpected staged path ${rel}`);
      const hour = BigInt(m[1] as string);
      const pair = decodeURIComponent(m[2] as string);
      const partition = partitionValuesOf(HOUR_PARTITION_KEYS, hour, pair);
      const path = `bronze/${dataset}/${hourPartitionPath(hour, pair)}/${topic}-${first.partition}-${firstOffset.toString().padStart(20, "0")}-${n}.parquet`;
      const stagedKey = `_tributary/staging/bronze/${dataset}/${topic}/${first.partition}/${firstOffset}-${writer}/${n}.parquet`;
      const bytes = await log.store.putFile(join(work, "out", rel), stagedKey);
      const rows = rowsPerPartition.get(`${hourPath(hour)}/${pair}`) ?? 0;
      files.push({ path, rows, bytes, partition });
      stagedKeys.push(stagedKey);
    }
    const record: AppendCommit = {
      v: 1,
      id: appendCommitId(topic, first.partition, firstOffset),
      kind: "append",
      layer: "bronze",
      dataset,
      topic,
      partition: first.partition,
      first_offset: firstOffset.toString(),
      last_offset: lastOffset.toString(),
      rows: list.length,
      files,
      committed_at: formatMicros(opts.committedAt ?? BigInt(Date.now()) * 1000n),
      writer,
      staged: stagedKeys,
    };
    await log.append(ds, record);
    if (!opts.leaveStaged) await publishStaged(log, record);
    return record;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Moves a record's staged files into the tree (what the writer's publish step does). */
export async function publishStaged(log: CommitLog, record: AppendCommit): Promise<void> {
  for (const [i, f] of record.files.entries()) await log.store.move(record.staged[i] as string, f.path);
}

/** Compacts every file of one bronze partition directory into one (same rows), with a compaction record. */
export async function compactBronzeDir(
  log: CommitLog,
  dirKey: string,
  dataset = "kraken_trades",
): Promise<void> {
  const keys: string[] = [];
  for await (const o of log.store.list(`${dirKey}/`)) if (o.key.endsWith(".parquet")) keys.push(o.key);
  if (keys.length === 0) return;
  const work = mkdtempSync(join(tmpdir(), "bronze-compact-"));
  try {
    const out = join(work, "c.parquet");
    using duck = await openDuckSession();
    const list = keys.map((k) => sqlString(log.store.url(k))).join(", ");
    await duck.run(
      `COPY (SELECT * FROM read_parquet([${list}], hive_partitioning = false) ORDER BY topic, kafka_partition, kafka_offset) TO ${sqlString(out)} (FORMAT parquet)`,
    );
    const path = `${dirKey}/compacted-${++counter}.parquet`;
    const bytes = await log.store.putFile(out, path);
    const committedAt = formatMicros(BigInt(Date.now()) * 1000n);
    const record: CompactionCommit = {
      v: 1,
      id: compactionCommitId(committedAt, `c${counter}`),
      kind: "compaction",
      layer: "bronze",
      dataset,
      rows: 0,
      files: [{ path, rows: 0, bytes, partition: partitionValues(dirKey) }],
      committed_at: committedAt,
      writer: `compactor${counter}`,
      staged: [path],
      replaces: keys,
    };
    await log.compaction({ layer: "bronze", name: dataset }, record);
    for (const k of keys) await log.store.delete(k);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function messageTs(r: BronzeRecord): bigint | undefined {
  if (typeof r.value !== "string") return undefined;
  try {
    const parsed = JSON.parse(r.value) as { ts?: unknown };
    return typeof parsed.ts === "string" ? parseRfc3339Micros(parsed.ts) : undefined;
  } catch {
    return undefined;
  }
}

function pairOf(r: BronzeRecord): string {
  return r.symbol ?? pairOfSymbol(r.key ?? "UNKNOWN");
}

interface RecordPartition {
  readonly eventTs: bigint;
  /** No event time given and no `ts` in the message: the partition time is Kafka's timestamp (or ingestion's). */
  readonly fromKafka: boolean;
  readonly pair: string;
}

function partitionOf(r: BronzeRecord): RecordPartition {
  const ts = r.eventTs ?? messageTs(r);
  return { eventTs: ts ?? r.kafkaTimestamp ?? r.ingestedAt, fromKafka: ts === undefined, pair: pairOf(r) };
}

/**
 * A contract-conforming trade message (JSON text) with overridable fields, keys in contract order as
 * the ingester writes them (`JSON.stringify` of the contract object).
 */
export function tradeJson(
  t: Partial<Record<keyof TradeMessage, unknown>> & { trade_id: number; ts: string },
): string {
  const base = {
    v: 1,
    exchange: "KRAKEN",
    symbol: "BTC/USD",
    trade_id: t.trade_id,
    price: "100.0",
    qty: "1.00000000",
    side: "buy",
    ord_type: "limit",
    ts: t.ts,
    received_at: t.ts,
    source: "ws",
  };
  return JSON.stringify({ ...base, ...t });
}

/**
 * BTC/USD trades `from`, `from + 1`, … (n of them) at offsets `from - 1`, … of partition 0: one a
 * minute past 2024-05-01T`hour`:00Z (default 10; trade `id` at minute `id % 60`), prices 100.25 to
 * 106.25, qty 0.5.
 */
export function sequentialTrades(from: number, n: number, hour = 10): BronzeRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    return {
      partition: 0,
      offset: id - 1,
      key: "BTC/USD",
      value: tradeJson({
        trade_id: id,
        ts: `2024-05-01T${String(hour).padStart(2, "0")}:${String(id % 60).padStart(2, "0")}:00.123456Z`,
        price: `${100 + (id % 7)}.25`,
        qty: "0.5",
      }),
      ingestedAt: 1714557600000000n + BigInt(id),
    };
  });
}
