/**
 * The message browser against the real Kafka: a partition read from an offset, from a time or at its
 * end, decoded as a Debezium envelope, JSON, text or bytes, with a dead letter's reason from its
 * headers; and the silver quarantine with its reasons, read from the lake.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createKafka, dlqHeaders, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { type Admin, Partitioners } from "kafkajs";
import { type RunningConsole, startConsole } from "../server.ts";
import { type DecodedMessage, decodeValue } from "./decode.ts";

const topic = uniqueName("console_browse");
const dlq = `${topic}.dlq`;
/** Broker timestamps of the ten trades: one a minute from T0. */
const T0 = Date.UTC(2026, 0, 5, 14, 0, 0);
const ENVELOPE = {
  before: null,
  after: { id: 7, name: "LTN 2027", price: "1043.120000" },
  source: { connector: "postgresql", schema: "public", table: "bonds", lsn: 23456789, txId: 771, ts_ms: T0 },
  op: "c",
  ts_ms: T0 + 5,
};

let scratch: string;
let config: Config;
let running: RunningConsole;
let admin: Admin;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-messages-"));
  const lake = join(scratch, "lake");
  for (const layer of ["bronze", "silver", "gold"]) mkdirSync(join(lake, layer), { recursive: true });
  const quarantine = join(lake, "silver", "kraken_trades_quarantine", "partition_hour=2026-01-05T14");
  mkdirSync(quarantine, { recursive: true });
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(`COPY (SELECT * FROM (VALUES
      ('${topic}', 0, 3, 'not JSON', 'price: not a positive decimal', TIMESTAMPTZ '2026-01-05 14:03:00+00'),
      ('${topic}', 0, 4, '{"price": "-1"}', 'price: not a positive decimal', TIMESTAMPTZ '2026-01-05 14:04:00+00'),
      ('${topic}', 0, 5, '{}', 'missing field trade_id', TIMESTAMPTZ '2026-01-05 14:05:00+00'))
    t(topic, kafka_partition, kafka_offset, raw_text, reason, kafka_timestamp))
    TO '${quarantine}/part-0.parquet' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();

  config = loadConfig({
    ...process.env,
    LAKE_URI: lake,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
  });
  admin = createKafka(config.kafka, "console-messages").admin();
  await admin.connect();
  await ensureTopics(admin, [topicSpec(config.kafka, topic, 1), topicSpec(config.kafka, dlq, 1)]);
  const producer = createKafka(config.kafka, "console-messages").producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      ...Array.from({ length: 10 }, (_, i) => ({
        key: "BTC/USD",
        value: JSON.stringify({ v: 1, symbol: "BTC/USD", trade_id: i + 1, price: "64000.1" }),
        timestamp: String(T0 + i * 60_000),
      })),
      { key: "7", value: JSON.stringify(ENVELOPE), timestamp: String(T0 + 10 * 60_000) },
      { key: null, value: Buffer.from([0xff, 0xfe, 0x00, 0x01]), timestamp: String(T0 + 11 * 60_000) },
    ],
  });
  await producer.send({
    topic: dlq,
    messages: [
      {
        key: "BTC/USD",
        value: '{"price": "-1"',
        headers: dlqHeaders("malformed JSON: unexpected end", "ws", topic),
      },
    ],
  });
  await producer.disconnect();
  running = await startConsole(config, {
    port: 0,
    log: createLogger("console-messages", "error", () => {}),
  });
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await admin?.deleteTopics({ topics: [topic, dlq] }).catch(() => undefined);
  await admin?.disconnect();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);

type Browse = { start: string; messages: DecodedMessage[]; partitions: { high: string }[] };
const api = async (query: string) => {
  const res = await running.app.request(`/api/messages?${query}`);
  return { status: res.status, body: (await res.json()) as Browse & { error?: string } };
};

describe("decoding a message", () => {
  test("a Debezium envelope, with or without its schema wrapper; JSON; text; bytes; a tombstone", () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(decodeValue(bytes(JSON.stringify(ENVELOPE)))).toMatchObject({
      kind: "debezium",
      op: "create",
      table: "public.bonds",
      lsn: "23456789",
      committedAt: "2026-01-05T14:00:00.000000Z",
    });
    expect(decodeValue(bytes(JSON.stringify({ schema: {}, payload: ENVELOPE })))).toMatchObject({
      op: "create",
    });
    expect(decodeValue(bytes('{"op": "x", "source": {}}'))).toMatchObject({ kind: "json" });
    expect(decodeValue(bytes("{not json"))).toEqual({ kind: "text", text: "{not json" });
    expect(decodeValue(new Uint8Array([0xc3, 0x28]))).toEqual({ kind: "bytes", hex: "c3 28" });
    expect(decodeValue(null)).toEqual({ kind: "empty" });
  });
});

describe("the message browser on a real topic", () => {
  test("without an offset it shows the partition's last messages, decoded by kind", async () => {
    const { status, body } = await api(`topic=${topic}&limit=3`);
    expect(status).toBe(200);
    expect(body.start).toBe("9");
    expect(body.messages.map((m) => [m.offset, m.value.kind])).toEqual([
      ["9", "json"],
      ["10", "debezium"],
      ["11", "bytes"],
    ]);
    expect(body.messages[0]?.timestamp).toBe("2026-01-05T14:09:00.000000Z");
    expect(body.messages[0]?.key).toBe("BTC/USD");
  });

  test("from an offset, and from a time: the first message at or after it", async () => {
    const byOffset = await api(`topic=${topic}&offset=4&limit=2`);
    expect(byOffset.body.messages.map((m) => m.offset)).toEqual(["4", "5"]);
    const byTime = await api(`topic=${topic}&time=2026-01-05T14:02:30Z&limit=1`);
    expect(byTime.body.messages.map((m) => m.offset)).toEqual(["3"]);
    const after = await api(`topic=${topic}&time=2027-01-01`);
    expect(after.body.messages).toEqual([]);
  });

  test("a dead letter shows its reason, source and original topic from the headers", async () => {
    const { body } = await api(`topic=${dlq}`);
    expect(body.messages[0]?.deadLetter).toMatchObject({
      reason: "malformed JSON: unexpected end",
      source: "ws",
      originalTopic: topic,
    });
    const page = await (await running.app.request(`/messages?topic=${dlq}`)).text();
    expect(page).toContain('class="error dlq-reason"');
    expect(page).toContain("malformed JSON: unexpected end");
    expect(page).toContain("{&quot;price&quot;: &quot;-1&quot;");
  });

  test("bad parameters and unknown topics or partitions are refused, naming what was wrong", async () => {
    expect((await api("topic=../etc")).body.error).toContain("topic: expected a Kafka topic name");
    expect((await api(`topic=${topic}&offset=-1`)).body.error).toContain("offset");
    expect((await api(`topic=${topic}&time=yesterday`)).body.error).toContain("time");
    expect((await api(`topic=${topic}&limit=1000`)).body.error).toContain("limit: expected 1 to 100");
    expect((await api(`topic=${topic}_nope`)).body.error).toContain("no topic");
    expect((await api(`topic=${topic}&partition=3`)).body.error).toContain("has no partition 3");
  });
});

describe("the silver quarantine", () => {
  test("lists each quarantine dataset with its reasons counted and its latest rows", async () => {
    const res = await running.app.request("/api/quarantine?dataset=silver/kraken_trades_quarantine");
    const body = (await res.json()) as {
      reasons: { rows: unknown[][] };
      latest: { columns: { name: string }[]; rows: unknown[][] };
    };
    expect(body.reasons.rows).toEqual([
      ["price: not a positive decimal", "2"],
      ["missing field trade_id", "1"],
    ]);
    expect(body.latest.columns.map((c) => c.name)).toEqual([
      "kafka_timestamp",
      "reason",
      "topic",
      "kafka_partition",
      "kafka_offset",
      "raw_text",
    ]);
    expect(body.latest.rows[0]?.[4]).toBe(5);
    const page = await (await running.app.request("/messages/quarantine")).text();
    expect(page).toContain('data-dataset="silver/kraken_trades_quarantine"');
    expect(page).toContain("missing field trade_id");
    expect((await running.app.request("/api/quarantine?dataset=silver/kraken_trades")).status).toBe(404);
  });
});
