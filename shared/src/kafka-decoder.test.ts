/**
 * Our patch of kafkajs's record decoder (patches/kafkajs@2.2.4.patch) computes offsets and
 * timestamps with Number arithmetic when every value is a safe integer and with kafkajs's Long
 * otherwise. These tests encode records with kafkajs's own encoder and check the decoded text
 * against BigInt arithmetic, across the 2^53 boundary where the fast path must step aside.
 */
import { expect, test } from "bun:test";
import { createRequire } from "node:module";
import { testRandom } from "./testing/random.ts";

const kafkajs = createRequire(require.resolve("kafkajs"));
type LongValue = { toString(): string };
const Long = kafkajs("./src/utils/long") as { fromString(s: string): LongValue };
const Decoder = kafkajs("./src/protocol/decoder") as new (
  b: Buffer,
) => { readVarIntBytes(): Buffer; readVarLongNumber(): number | null; offset: number };
const encodeRecord = kafkajs("./src/protocol/recordBatch/record/v0") as (r: {
  offsetDelta: number;
  timestampDelta: LongValue;
  key: Buffer;
  value: Buffer;
}) => { buffer: Buffer };
const decodeRecord = kafkajs("./src/protocol/recordBatch/record/v0/decoder") as (
  d: unknown,
  ctx: { firstOffset: string; firstTimestamp: string; timestampType: number; maxTimestamp: string },
) => { offset: string; timestamp: string; key: Buffer; value: Buffer };

function roundTrip(firstOffset: bigint, offsetDelta: number, firstTimestamp: bigint, timestampDelta: bigint) {
  const { buffer } = encodeRecord({
    offsetDelta,
    timestampDelta: Long.fromString(timestampDelta.toString()),
    key: Buffer.from("k"),
    value: Buffer.from("v"),
  });
  const inner = new Decoder(buffer).readVarIntBytes();
  return decodeRecord(new Decoder(inner), {
    firstOffset: firstOffset.toString(),
    firstTimestamp: firstTimestamp.toString(),
    timestampType: 0,
    maxTimestamp: "0",
  });
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

test("decoded offsets and timestamps equal BigInt arithmetic, on both sides of 2^53", () => {
  const cases: Array<[bigint, number, bigint, bigint]> = [
    [0n, 0, 0n, 0n],
    [100n, 3, 1_762_795_433_123n, 17n],
    [1_000_000n, 2_147_483_647, 1_762_795_433_123n, -1_762_795_433_124n], // timestamp -1
    [SAFE - 5n, 5, SAFE - 5n, 5n], // exactly 2^53 - 1: still the fast path
    [SAFE - 5n, 6, SAFE - 5n, 6n], // 2^53: Long
    [SAFE + 10n, 1, SAFE + 10n, 1n], // base beyond 2^53 (Number would round it)
    [SAFE + 2n, 1, SAFE + 2n, -10n], // …even when the sum falls back below 2^53
    [(1n << 62n) + 3n, 7, (1n << 62n) + 3n, -(1n << 50n)], // delta beyond 49 bits: Long
    [5n, 1, 10n, (1n << 60n) - 1n],
  ];
  const { random } = testRandom("decoded offsets and timestamps equal BigInt arithmetic");
  for (let i = 0; i < 2_000; i++) {
    const base = BigInt(Math.floor(random() * 2 ** 52)) * (i % 3 === 0 ? 4096n : 1n);
    const delta = BigInt(Math.floor((random() - 0.5) * 2 ** (i % 60)));
    cases.push([base, Math.floor(random() * 2 ** 31), base, delta]);
  }
  for (const [firstOffset, offsetDelta, firstTimestamp, timestampDelta] of cases) {
    const r = roundTrip(firstOffset, offsetDelta, firstTimestamp, timestampDelta);
    expect(r.offset).toBe((firstOffset + BigInt(offsetDelta)).toString());
    expect(r.timestamp).toBe((firstTimestamp + timestampDelta).toString());
    expect(r.value.toString()).toBe("v");
  }
});

test("the varlong fast path reads 7 bytes at most and leaves longer values to Long", () => {
  const d = new Decoder(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
  expect(d.readVarLongNumber()).toBeNull();
  expect(d.offset).toBe(0);
  const small = new Decoder(Buffer.from([0x03])); // zigzag 3 → -2
  expect(small.readVarLongNumber()).toBe(-2);
  expect(small.offset).toBe(1);
});

test("a batch drops messages below the fetched offset, on both sides of 2^53", () => {
  const Batch = kafkajs("./src/consumer/batch") as new (
    topic: string,
    fetchedOffset: string,
    data: {
      partition: number;
      highWatermark: string;
      messages: Array<{ offset: string }>;
      abortedTransactions: [];
    },
  ) => { messages: Array<{ offset: string }> };
  const offsets = (from: bigint, n: number): string[] =>
    Array.from({ length: n }, (_, i) => (from + BigInt(i)).toString());
  for (const start of [0n, 1_000n, SAFE - 3n, SAFE + 5n]) {
    const batch = new Batch("t", (start + 2n).toString(), {
      partition: 0,
      highWatermark: "0",
      messages: offsets(start, 6).map((offset) => ({ offset })),
      abortedTransactions: [],
    });
    expect(batch.messages.map((m) => m.offset)).toEqual(offsets(start + 2n, 4));
  }
});

test("a record batch decodes its records in place: keys, values, headers and offsets in order", async () => {
  const { RecordBatch: encodeBatch } = kafkajs("./src/protocol/recordBatch/v0") as {
    RecordBatch: (b: object) => Promise<{ buffer: Buffer }>;
  };
  const decodeBatch = kafkajs("./src/protocol/recordBatch/v0/decoder") as (d: unknown) => Promise<{
    records: Array<{
      key: Buffer;
      value: Buffer;
      offset: string;
      timestamp: string;
      headers: Record<string, Buffer>;
    }>;
  }>;
  const input: Array<{ key: string; value: string; headers: Record<string, string> }> = [
    { key: "a", value: "1", headers: {} },
    { key: "bb", value: "x".repeat(300), headers: { h: "x", g: "y" } },
    { key: "ccc", value: "333", headers: {} },
  ];
  const encoded = await encodeBatch({
    firstOffset: Long.fromString("10"),
    firstTimestamp: 1_000,
    maxTimestamp: 1_002,
    lastOffsetDelta: input.length - 1,
    records: input.map((r, i) =>
      encodeRecord({
        offsetDelta: i,
        timestampDelta: Long.fromString(String(i)),
        key: Buffer.from(r.key),
        value: Buffer.from(r.value),
        ...({ headers: r.headers } as object),
      }),
    ),
  });
  const { records } = await decodeBatch(new Decoder(encoded.buffer));
  expect(records.map((r) => [r.key.toString(), r.value.toString(), r.offset, r.timestamp])).toEqual(
    input.map((r, i) => [r.key, r.value, String(10 + i), String(1_000 + i)]),
  );
  const headers = records.map((r) =>
    Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
  );
  expect(headers).toEqual(input.map((r) => r.headers));
});
