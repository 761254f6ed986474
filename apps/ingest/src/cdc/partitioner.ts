/**
 * Kafka's default key partitioning (murmur2 of the key bytes, positive, modulo the partition count),
 * bit for bit as the Java client and kafkajs' DefaultPartitioner compute it, but with 32-bit integer
 * arithmetic instead of kafkajs' emulated 64-bit Long (which was a third of the CDC source's CPU).
 * Records without a key (truncates, keyless tables) all go to partition 0, so they stay ordered.
 */
import type { ICustomPartitioner } from "kafkajs";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: string | Uint8Array | null | undefined, partitions: number): number {
  if (key === null || key === undefined) return 0;
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}

/** For `kafka.producer({ createPartitioner: KeyHashPartitioner })`. */
export const KeyHashPartitioner: ICustomPartitioner =
  () =>
  ({ partitionMetadata, message }) =>
    message.partition ??
    partitionForKey(message.key as string | Buffer | null | undefined, partitionMetadata.length);
