/**
 * Our patch of kafkajs's producer side (patches/kafkajs@2.2.4.patch) writes varints in place, encodes
 * Number varlongs without Long, and groups a batch's messages per partition in one pass. These tests
 * hold the bytes to an independent zigzag LEB128 written with BigInt, across the 2^52 boundary where
 * the Number path must hand over to Long, and the grouping to the order the messages came in.
 */
import { expect, test } from "bun:test";
import { createRequire } from "node:module";
import { testRandom } from "./testing/random.ts";

const kafkajs = createRequire(require.resolve("kafkajs"));
type LongValue = { toString(): string };
const Long = kafkajs("./src/utils/long") as { fromString(s: string): LongValue };
interface EncoderInstance {
  writeVarInt(v: number): EncoderInstance;
  writeUVarInt(v: number): EncoderInstance;
  writeVarLong(v: number | LongValue): EncoderInstance;
  readonly buffer: Buffer;
}
const Encoder = kafkajs("./src/protocol/encoder") as {
  new (): EncoderInstance;
  sizeOfVarLong(v: number | LongValue): number;
};
const groupMessagesPerPartition = kafkajs("./src/producer/groupMessagesPerPartition") as (args: {
  topic: string;
  partitionMetadata: readonly object[];
  messages: readonly { key: string; n: number }[];
  partitioner: (a: { message: { key: string } }) => number;
}) => Record<string, { key: string; n: number }[]>;

/** Kafka's zigzag varint/varlong (LEB128 of the zigzag value), written independently with BigInt. */
function zigzagLeb128(value: bigint, bits: 32n | 64n): number[] {
  let z = BigInt.asUintN(Number(bits), (value << 1n) ^ (value >> (bits - 1n)));
  const out: number[] = [];
  while (z >= 128n) {
    out.push(Number(z & 127n) | 128);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

const LIMIT = 2 ** 52;

test("varlongs of Numbers equal the BigInt reference and the Long path, on both sides of 2^52", () => {
  const values = [
    0,
    -0,
    1,
    -1,
    63,
    -64,
    64,
    127,
    128,
    -129,
    2 ** 31,
    -(2 ** 31) - 1,
    LIMIT - 1,
    -(LIMIT - 1),
  ];
  values.push(LIMIT, -LIMIT, 2 ** 53 - 1, -(2 ** 53 - 1)); // beyond the Number path: Long encodes them
  const { random } = testRandom("varlongs of Numbers equal the BigInt reference");
  for (let i = 0; i < 3_000; i++) {
    const magnitude = Math.floor(random() * 2 ** (i % 54));
    values.push(random() < 0.5 ? -magnitude : magnitude);
  }
  for (const v of values) {
    const expected = zigzagLeb128(BigInt(v), 64n);
    const viaNumber = [...new Encoder().writeVarLong(v).buffer];
    const viaLong = [...new Encoder().writeVarLong(Long.fromString(String(v))).buffer];
    expect({ v, bytes: viaNumber }).toEqual({ v, bytes: expected });
    expect(viaLong).toEqual(expected);
    expect(Encoder.sizeOfVarLong(v)).toBe(expected.length);
  }
});

test("varints written in place equal the BigInt reference over the whole 32-bit range", () => {
  const values = [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)];
  const { random } = testRandom("varints written in place equal the BigInt reference");
  for (let i = 0; i < 3_000; i++) values.push(Math.floor(random() * 2 ** 32) - 2 ** 31);
  const e = new Encoder();
  const expected: number[] = [];
  for (const v of values) {
    e.writeVarInt(v);
    expected.push(...zigzagLeb128(BigInt(v), 32n));
  }
  // Many varints into one encoder: it grows past its first 512 bytes without losing a byte.
  expect([...e.buffer]).toEqual(expected);
});

test("grouping per partition keeps every message once, in the order it came", () => {
  const keys = ["BTC/USD", "ETH/USD", "DOGE/USD"];
  const messages = Array.from({ length: 2_500 }, (_, n) => ({ key: keys[n % 3] as string, n }));
  const grouped = groupMessagesPerPartition({
    topic: "t",
    partitionMetadata: [{}, {}],
    messages,
    partitioner: ({ message }) => keys.indexOf(message.key) % 2,
  });
  expect(Object.keys(grouped)).toEqual(["0", "1"]);
  expect(grouped["0"]?.map((m) => m.n)).toEqual(messages.filter((m) => m.key !== "ETH/USD").map((m) => m.n));
  expect(grouped["1"]?.map((m) => m.n)).toEqual(messages.filter((m) => m.key === "ETH/USD").map((m) => m.n));
  expect(
    groupMessagesPerPartition({ topic: "t", partitionMetadata: [], messages, partitioner: () => 0 }),
  ).toEqual({});
});
