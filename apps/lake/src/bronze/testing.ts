/**
 * Test helpers for the bronze writer: produce trade messages to a test topic, fetch a lake's
 * bronze tree to local disk, and check exactly-once with DuckDB alone (no commit log), over the
 * Hive tree or through the Iceberg table.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { createKafka, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import type { LakeStore } from "@tributary/shared/lake/store";
import { formatMicros } from "@tributary/shared/time";
import { type Message, Partitioners, type Producer } from "kafkajs";
import { openDuckSession } from "../runtime/duckdb.ts";
import { bronzeTableDefinition } from "./table-commit.ts";

export const TEST_SYMBOLS = ["BTC/USD", "ETH/USD", "SOL/USD", "XRP/EUR"] as const;
/** 2024-05-01T13:30:00Z: test events span a few hours from here. */
export const TEST_EPOCH_US = Date.UTC(2024, 4, 1, 13, 30) * 1000;

/** A ~200-byte trade message (the contract's shape), event time `TEST_EPOCH_US + i·stepUs`. */
export function tradeMessage(i: number, stepUs = 1_000_000): { key: string; value: string } {
  const symbol = TEST_SYMBOLS[i % TEST_SYMBOLS.length] as string;
  const ts = formatMicros(BigInt(TEST_EPOCH_US + i * stepUs));
  const value = JSON.stringify({
    v: 1,
    exchange: "KRAKEN",
    symbol,
    trade_id: 1_000_000 + i,
    price: `${60000 + (i % 1000)}.${String(i % 100000).padStart(5, "0")}`,
    qty: `0.${String((i * 7919) % 100000000).padStart(8, "0")}`,
    side: i % 2 === 0 ? "buy" : "sell",
    ord_type: i % 3 === 0 ? "limit" : "market",
    ts,
    received_at: ts,
    source: "ws",
  });
  return { key: symbol, value };
}

export async function createTestTopic(config: Config, topic: string, partitions: number): Promise<void> {
  const admin = createKafka(config.kafka, "lake-test").admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [topicSpec(config.kafka, topic, partitions)]);
  } finally {
    await admin.disconnect();
  }
}

export async function testProducer(config: Config): Promise<Producer> {
  const producer = createKafka(config.kafka, "lake-test").producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

/**
 * Produces `count` records spread evenly over `partitions` (record i to partition i % partitions);
 * every `garbageEvery`-th record is unparseable bytes. Returns the number sent per partition.
 */
export async function produceTrades(
  producer: Producer,
  topic: string,
  count: number,
  partitions: number,
  opts: {
    readonly garbageEvery?: number;
    readonly batch?: number;
    readonly startIndex?: number;
    readonly stepUs?: number;
  } = {},
): Promise<number[]> {
  const perPartition = Array.from({ length: partitions }, () => 0);
  const batch = opts.batch ?? 5_000;
  const start = opts.startIndex ?? 0;
  for (let from = 0; from < count; from += batch) {
    const byPartition = new Map<number, Message[]>();
    for (let j = from; j < Math.min(count, from + batch); j++) {
      const i = start + j;
      const p = i % partitions;
      const garbage = opts.garbageEvery !== undefined && i % opts.garbageEvery === opts.garbageEvery - 1;
      const m = tradeMessage(i, opts.stepUs);
      byPartition.set(p, [
        ...(byPartition.get(p) ?? []),
        garbage ? { key: m.key, value: Buffer.from([0xff, 0x00, 0x7b]) } : m,
      ]);
      perPartition[p] = (perPartition[p] ?? 0) + 1;
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byPartition].map(([partition, messages]) => ({
        topic,
        messages: messages.map((m) => ({ ...m, partition })),
      })),
    });
  }
  return perPartition;
}

/**
 * Runs `fn` on a local directory holding the lake's `bronze/` Parquet files: the lake root itself
 * on disk; for S3 a temporary download (DuckDB here has no httpfs), removed afterwards.
 */
export async function withLocalBronze<T>(store: LakeStore, fn: (root: string) => Promise<T>): Promise<T> {
  if (store.kind === "local") return fn(store.root);
  const dir = mkdtempSync(join(tmpdir(), "bronze-copy-"));
  try {
    for await (const o of store.list("bronze/")) {
      if (!o.key.endsWith(".parquet")) continue;
      const target = join(dir, o.key);
      mkdirSync(dirname(target), { recursive: true });
      await Bun.write(target, await store.read(o.key));
    }
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** {@link readExactlyOnce} on a lake on disk or S3. */
export function readLakeExactlyOnce(store: LakeStore, dataset: string): Promise<ExactlyOnceReport> {
  return withLocalBronze(store, (root) => readExactlyOnce(root, dataset));
}

export interface ExactlyOnceReport {
  readonly total: number;
  readonly duplicates: number;
  /** Per partition: [count, distinct offsets, min offset, max offset]. */
  readonly partitions: ReadonlyArray<readonly [number, number, number, number, number]>;
}

/** What DuckDB alone reads from a dataset: totals, duplicates, and offsets per partition. */
export function readExactlyOnce(root: string, dataset: string): Promise<ExactlyOnceReport> {
  return exactlyOnceOf(`read_parquet('${root}/bronze/${dataset}/**/*.parquet', hive_partitioning = true)`);
}

/**
 * {@link readExactlyOnce} through the dataset's Iceberg table (its current snapshot, the embedded
 * catalog), plus how many files the snapshot names that are not in place (must be 0).
 */
export async function readTableExactlyOnce(
  store: LakeStore,
  dataset: string,
): Promise<ExactlyOnceReport & { readonly missingFiles: number }> {
  const table = new IcebergTable(
    new EmbeddedCatalog(store),
    store,
    { namespace: "bronze", name: dataset },
    bronzeTableDefinition("kraken"),
  );
  const loaded = await table.load();
  const files = loaded === undefined ? [] : await table.files(undefined, loaded.metadata);
  const dir = mkdtempSync(join(tmpdir(), "bronze-table-"));
  try {
    const paths: string[] = [];
    let missingFiles = 0;
    for (const f of files) {
      const key = lakeKeyOf(store, f.path);
      if (!(await store.exists(key))) missingFiles += 1;
      else if (store.kind === "local") paths.push(f.path);
      else {
        const local = join(dir, `${paths.length}.parquet`);
        await Bun.write(local, await store.read(key));
        paths.push(local);
      }
    }
    const report =
      paths.length === 0
        ? EMPTY_REPORT
        : await exactlyOnceOf(`read_parquet([${paths.map((p) => `'${p}'`).join(", ")}])`);
    return { ...report, missingFiles };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const EMPTY_REPORT: ExactlyOnceReport = { total: 0, duplicates: 0, partitions: [] };

async function exactlyOnceOf(src: string): Promise<ExactlyOnceReport> {
  try {
    using duck = await openDuckSession();
    const duplicates = await duck.scalar(
      `SELECT count(*)::BIGINT AS n FROM (SELECT topic, kafka_partition, kafka_offset, count(*) AS c FROM ${src} GROUP BY ALL HAVING count(*) <> 1)`,
    );
    const total = await duck.scalar(`SELECT count(*)::BIGINT AS n FROM ${src}`);
    const per = await duck.rows(
      `SELECT kafka_partition::INTEGER AS p, count(*)::BIGINT AS c, count(DISTINCT kafka_offset)::BIGINT AS d, min(kafka_offset)::BIGINT AS lo, max(kafka_offset)::BIGINT AS hi FROM ${src} GROUP BY 1 ORDER BY 1`,
    );
    return {
      total: Number(total ?? 0),
      duplicates: Number(duplicates ?? 0),
      partitions: per.map(
        (r) => [Number(r.p), Number(r.c), Number(r.d), Number(r.lo), Number(r.hi)] as const,
      ),
    };
  } catch (err) {
    if (String(err).includes("No files found")) return EMPTY_REPORT;
    throw err;
  }
}

/** The report a lake holding exactly `perPartition[p]` rows with offsets 0..n-1 must give. */
export function expectedReport(perPartition: readonly number[]): ExactlyOnceReport {
  return {
    total: perPartition.reduce((a, b) => a + b, 0),
    duplicates: 0,
    partitions: perPartition.flatMap((n, p) => (n === 0 ? [] : [[p, n, n, 0, n - 1] as const])),
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await Bun.sleep(everyMs);
  }
  return check();
}
