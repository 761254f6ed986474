import { describe, expect, test } from "bun:test";
import { seededRandom } from "@tributary/shared/random";
// kafkajs' own (Java-compatible) implementation, the reference we must match bit for bit.
// @ts-expect-error kafkajs ships no type declarations for its internal modules
import kafkajsMurmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";
import { murmur2, partitionForKey } from "./partitioner.ts";

describe("key partitioning", () => {
  test("murmur2 equals kafkajs' Java-compatible murmur2 for keys of every length", () => {
    const reference = kafkajsMurmur2 as (key: Buffer) => number;
    const random = seededRandom(1);
    for (let n = 0; n < 2000; n++) {
      const len = n % 97;
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(random() * 256);
      expect(murmur2(bytes)).toBe(reference(bytes));
    }
    const key = '{"bond_type":"Tesouro IPCA+","maturity_date":"2026-08-15","base_date":"2024-08-15"}';
    expect(murmur2(Buffer.from(key))).toBe(reference(Buffer.from(key)));
  });

  test("a key always maps to the same partition; records without a key go to partition 0", () => {
    const key = '{"id":1}';
    expect(partitionForKey(key, 6)).toBe(partitionForKey(Buffer.from(key), 6));
    expect(partitionForKey(key, 6)).toBeGreaterThanOrEqual(0);
    expect(partitionForKey(null, 6)).toBe(0);
  });
});
