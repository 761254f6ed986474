/**
 * Avro object container files for Iceberg manifests and manifest lists, with avsc (the most used
 * maintained Avro library on npm: releases through 2025, 6.x in development).
 * Avro longs are read and written as bigint, so 64-bit snapshot IDs written by other engines stay exact.
 */
import { randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import avro from "avsc";

/** avsc's long type carried as bigint (the default is a JS number, which loses precision above 2^53). */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(n);
    return b;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === "bigint",
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

// biome-ignore lint/suspicious/noExplicitAny: avsc's schema type is a loose JSON shape.
type AvroSchema = any;

const typeOf = (schema: AvroSchema): avro.Type =>
  avro.Type.forSchema(schema, { registry: { long: bigLong } } as Partial<avro.ForSchemaOptions>);

const HEADER = avro.Type.forSchema({
  type: "record",
  name: "org.apache.avro.file.Header",
  fields: [
    { name: "magic", type: { type: "fixed", name: "Magic", size: 4 } },
    { name: "meta", type: { type: "map", values: "bytes" } },
    { name: "sync", type: { type: "fixed", name: "Sync", size: 16 } },
  ],
});
const LONG = avro.Type.forSchema("long");

/**
 * Encodes `records` into one container file: the header (the schema JSON as given, so Iceberg's
 * `field-id` attributes are kept, plus `metadata`), then one deflate block. Records are encoded by
 * avsc; the container framing is the spec's few fields.
 */
export function encodeContainer(
  schema: AvroSchema,
  records: readonly unknown[],
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  const type = typeOf(schema);
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = {
    "avro.schema": Buffer.from(JSON.stringify(schema)),
    "avro.codec": Buffer.from("deflate"),
  };
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v, "utf8");
  const parts: Buffer[] = [HEADER.toBuffer({ magic: Buffer.from([0x4f, 0x62, 0x6a, 0x01]), meta, sync })];
  if (records.length > 0) {
    const block = deflateRawSync(Buffer.concat(records.map((r) => type.toBuffer(r))));
    parts.push(LONG.toBuffer(records.length), LONG.toBuffer(block.length), block, sync);
  }
  return new Uint8Array(Buffer.concat(parts));
}

export interface Container<T> {
  readonly metadata: Readonly<Record<string, string>>;
  readonly records: T[];
}

/** Decodes a whole container file (null or deflate codec) with its writer schema. */
export async function decodeContainer<T>(bytes: Uint8Array): Promise<Container<T>> {
  const records: T[] = [];
  let metadata: Record<string, string> = {};
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (schema: AvroSchema) => typeOf(schema),
    codecs: {
      deflate: (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => {
        try {
          cb(null, inflateRawSync(buf));
        } catch (err) {
          cb(err as Error);
        }
      },
      null: (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => cb(null, buf),
    },
  } as ConstructorParameters<typeof avro.streams.BlockDecoder>[0]);
  const done = new Promise<void>((resolve, reject) => {
    decoder.on("metadata", (_type: avro.Type, _codec: string, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString("utf8")]));
    });
    decoder.on("data", (r: T) => records.push(r));
    decoder.on("end", () => resolve());
    decoder.on("error", reject);
  });
  decoder.end(Buffer.from(bytes));
  await done;
  return { metadata, records };
}
