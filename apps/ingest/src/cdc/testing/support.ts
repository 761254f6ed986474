/** Helpers for the CDC tests: read topics back, read a table the way the envelope encodes it. */
import type { CdcEnvelope, CdcRow, CdcTransactionEvent } from "@tributary/shared/contracts/cdc";
import type { Kafka } from "kafkajs";
import type pg from "pg";
import { dropSlot, serverWalLsn, type TableRef, tableInfo } from "../catalog.ts";
import { encodeRow, keyJson, tableShape } from "../envelope.ts";
import { canonicalKey, type KeyedEnvelope } from "../replay.ts";
import { readSnapshot } from "../snapshot.ts";

export interface TopicRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads topics from the beginning up to their current end offsets (taken when called), or until
 * `timeoutMs` passes (then returns what it has). A fresh consumer group each call.
 */
export async function readTopics(
  kafka: Kafka,
  topics: readonly string[],
  timeoutMs: number,
  groupId: string,
): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>(); // "topic/partition" → last offset still to read
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high) - 1n);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
  });
  const records: TopicRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const finished = new Promise<void>((r) => {
      resolveDone = r;
    });
    if (remaining.size === 0) resolveDone();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          records.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key ? m.key.toString("utf8") : null,
            value: m.value ? m.value.toString("utf8") : null,
            headers,
          });
          const id = `${batch.topic}/${batch.partition}`;
          const last = remaining.get(id);
          if (last !== undefined && BigInt(m.offset) >= last) remaining.delete(id);
        }
        if (remaining.size === 0) resolveDone();
      },
    });
    const timer = setTimeout(resolveDone, timeoutMs);
    await finished;
    clearTimeout(timer);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

export function envelopesOf(records: readonly TopicRecord[], topic: string): KeyedEnvelope[] {
  return records
    .filter((r) => r.topic === topic && r.value !== null)
    .map((r) => ({
      key: r.key,
      envelope: JSON.parse(r.value as string) as CdcEnvelope,
      record: `${r.partition}/${r.offset}`,
    }));
}

export function transactionEventsOf(records: readonly TopicRecord[], topic: string): CdcTransactionEvent[] {
  return records
    .filter((r) => r.topic === topic && r.value !== null)
    .map((r) => JSON.parse(r.value as string) as CdcTransactionEvent);
}

/** The table's rows with their canonical keys ("null" without a primary key), encoded exactly as the CDC envelope encodes them (JSON round-tripped). */
export async function encodedRows(
  client: pg.Client,
  ref: TableRef,
): Promise<{ readonly key: string; readonly row: CdcRow }[]> {
  const info = await tableInfo(client, ref);
  if (!info) throw new Error(`no table ${ref.schema}.${ref.table}`);
  const shape = tableShape(info.schema, info.table, info.columns, info.primaryKey);
  const out: { key: string; row: CdcRow }[] = [];
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    for await (const batch of readSnapshot(client, [info]))
      for (const tuple of batch.rows)
        out.push({
          key: canonicalKey(keyJson(shape, tuple)),
          row: JSON.parse(JSON.stringify(encodeRow(shape, tuple))) as CdcRow,
        });
  } finally {
    await client.query("COMMIT");
  }
  return out;
}

/** A keyed table's rows by canonical key, encoded as the CDC envelope encodes them. */
export async function tableState(client: pg.Client, ref: TableRef): Promise<Map<string, CdcRow>> {
  return new Map((await encodedRows(client, ref)).map((r) => [r.key, r.row]));
}

/**
 * Differences between two keyed states, at most `limit` described. A column absent from a replayed
 * row counts as NULL (it was added after the row's last change, without a default).
 */
export function diffStates(expected: Map<string, CdcRow>, actual: Map<string, CdcRow>, limit = 5): string[] {
  const out: string[] = [];
  for (const [k, row] of expected) {
    const got = actual.get(k);
    const aligned = got && Object.fromEntries(Object.keys(row).map((c) => [c, got[c] ?? null]));
    if (!got) out.push(`missing ${k}`);
    else if (JSON.stringify(aligned) !== JSON.stringify(row)) {
      out.push(
        `differs ${k}: expected ${JSON.stringify(row).slice(0, 300)} got ${JSON.stringify(got).slice(0, 300)}`,
      );
    }
    if (out.length >= limit) return out;
  }
  for (const k of actual.keys()) {
    if (!expected.has(k)) out.push(`unexpected ${k}`);
    if (out.length >= limit) return out;
  }
  return out;
}

/**
 * Waits (at most `ms`) until the source has confirmed everything PostgreSQL has written so far;
 * returns that WAL position so the caller can assert on it.
 */
export async function waitConfirmed(
  sql: pg.Client,
  metrics: { readonly confirmedLsn: bigint },
  ms = 10_000,
): Promise<bigint> {
  const target = await serverWalLsn(sql);
  const deadline = Date.now() + ms;
  while (metrics.confirmedLsn < target && Date.now() < deadline) await Bun.sleep(25);
  return target;
}

/** A test's cleanup: its slot, publication and schema dropped, each best-effort (a failed test may not have made them). */
export async function dropCapture(
  sql: pg.Client,
  capture: { readonly slot: string; readonly publication: string; readonly schema: string },
): Promise<void> {
  await dropSlot(sql, capture.slot).catch(() => undefined);
  await sql.query(`DROP PUBLICATION IF EXISTS ${capture.publication}`).catch(() => undefined);
  await sql.query(`DROP SCHEMA IF EXISTS ${capture.schema} CASCADE`).catch(() => undefined);
}

/**
 * A topic as a log-compacted consumer sees it: records in Kafka order (one key lives in one
 * partition), the last event per key wins, a delete or tombstone removes the key.
 */
export function latestPerKey(records: readonly TopicRecord[], topic: string): Map<string, CdcRow> {
  const rows = new Map<string, CdcRow>();
  const ordered = records
    .filter((r) => r.topic === topic && r.key !== null)
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  for (const r of ordered) {
    const key = canonicalKey(r.key);
    const e = r.value === null ? null : (JSON.parse(r.value) as CdcEnvelope);
    if (e === null || e.op === "d" || e.op === "t") rows.delete(key);
    else rows.set(key, e.after as CdcRow);
  }
  return rows;
}
