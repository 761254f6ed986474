/**
 * The staging table writes DuckDB's in-memory layout from JS (int64 halves, inline string_t keys,
 * validity bitmaps): every value must come back from the Parquet files exactly as appended.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { routedDataset } from "./datasets.ts";
import { BronzeStage, MAX_EVENT_US, type StageTp } from "./stage-table.ts";

const dir = mkdtempSync(join(tmpdir(), "stage-table-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  tp: number;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  kafkaTsMs: number;
  ingestedUs: number;
  eventUs: number;
  symbol: string;
}

const HOUR_US = 3_600_000_000;
const BASE_US = Date.UTC(2024, 4, 1, 13, 59, 0) * 1000; // an hour boundary a minute later

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const keyLength = i % 41; // inline (≤ 12 bytes) and out-of-line keys
    return {
      tp: i % 3,
      partition: 10 + (i % 3),
      offset: 2 ** 32 - 1000 + i, // crosses the int64 low-word boundary
      key: i % 97 === 5 ? null : Buffer.from(Array.from({ length: keyLength }, (_, b) => (i * 7 + b) % 256)),
      value: i % 89 === 3 ? null : Buffer.from(`{"n":${i},"pad":"${"x".repeat(i % 300)}"}`),
      kafkaTsMs: i % 50 === 0 ? -1 : BASE_US / 1000 + i, // -1: "no timestamp" from old clients
      ingestedUs: BASE_US + 5_000_000 + i,
      // Unreadable event times fall back (flagged): NaN, and beyond 2^53 µs.
      eventUs: i % 31 === 0 ? Number.NaN : i % 37 === 0 ? MAX_EVENT_US + 1 : BASE_US + i * 20_000,
      symbol: ["BTC_USD", "ETH_USD"][i % 2] as string,
    };
  });
}

test("every appended value comes back from the Parquet files exactly, over several chunks", async () => {
  const stage = await BronzeStage.open({ memoryLimitMb: 256, threads: 1, tempDir: join(dir, "spill") });
  const ds = routedDataset("t.trades", "kraken_trades", "kraken");
  try {
    const table = await stage.newTable(ds);
    const input = rows(7_000); // more than three 2,048-row chunks, nulls in some chunks only
    for (const r of input)
      table.append(
        r.tp,
        r.partition,
        r.offset,
        r.key,
        r.value,
        r.kafkaTsMs,
        r.ingestedUs,
        r.eventUs,
        r.symbol,
      );
    // tp 2 was revoked: its rows must not be written.
    const tps: StageTp[] = [0, 1].map((id) => ({
      id,
      topic: "t.trades",
      partition: 10 + id,
      dir: `t.trades-${id}`,
    }));
    const files = await stage.copyToStaging(table, tps, join(dir, "copy"));
    expect(files.every((f) => /^tp=t\.trades-[01]\/p\d+_part_\d+\.parquet$/.test(f.relPath))).toBe(true);

    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    await duck.run("SET TimeZone = 'UTC'");
    const out = new Map<number, Record<string, unknown>>();
    for (const f of files) {
      const reader = await duck.runAndReadAll(
        `SELECT topic, kafka_partition, kafka_offset, kafka_key, kafka_value, epoch_us(kafka_timestamp) AS kts,
                epoch_us(ingested_at) AS ing, epoch_us(event_ts) AS ev, event_ts_from_kafka AS flagged
         FROM read_parquet('${f.localPath}')`,
      );
      for (const row of reader.getRowObjectsJS()) {
        // Each file holds one Hive partition: its values must match the row's event hour and symbol.
        const ev = Number(row.ev);
        const hour = new Date(Math.floor(ev / HOUR_US) * 3_600_000).toISOString();
        expect(f.partition).toEqual({
          // Unpadded integers: `month=5`, never `month=05` (docs/contracts.md, "Lake").
          year: String(Number(hour.slice(0, 4))),
          month: String(Number(hour.slice(5, 7))),
          day: String(Number(hour.slice(8, 10))),
          hour: String(Number(hour.slice(11, 13))),
          pair: Number(row.kafka_offset) % 2 === (2 ** 32 - 1000) % 2 ? "BTC_USD" : "ETH_USD",
        });
        out.set(Number(row.kafka_offset), row);
      }
      expect(f.rows).toBeGreaterThan(0);
    }
    const kept = input.filter((r) => r.tp !== 2);
    expect(out.size).toBe(kept.length);
    for (const r of kept) {
      const got = out.get(r.offset) as Record<string, unknown>;
      const flagged = !(Math.abs(r.eventUs) <= MAX_EVENT_US);
      expect(got.topic).toBe("t.trades");
      expect(got.kafka_partition).toBe(r.partition);
      const hex = (b: Uint8Array | null): string | null =>
        b === null ? null : Buffer.from(b).toString("hex");
      expect(hex(got.kafka_key as Uint8Array | null)).toEqual(hex(r.key));
      expect(hex(got.kafka_value as Uint8Array | null)).toEqual(hex(r.value));
      expect(Number(got.kts)).toBe(r.kafkaTsMs * 1000);
      expect(Number(got.ing)).toBe(r.ingestedUs);
      expect(got.flagged).toBe(flagged);
      expect(Number(got.ev)).toBe(flagged ? r.kafkaTsMs * 1000 : r.eventUs);
    }
  } finally {
    stage.close();
  }
});

test("CDC datasets partition by the UTC day, and a sealed table refuses more rows", async () => {
  const stage = await BronzeStage.open({ memoryLimitMb: 64, threads: 1, tempDir: join(dir, "spill2") });
  try {
    const table = await stage.newTable(routedDataset("cdc.public.t", "cdc_public_t", "cdc"));
    const day = Date.UTC(2024, 7, 15) * 1000;
    for (const [i, ev] of [day - 1, day, day + 86_399_999_999, day + 86_400_000_000].entries())
      table.append(0, 0, i, Buffer.from("k"), Buffer.from("v"), day / 1000, day, ev, "ignored");
    const tps: StageTp[] = [{ id: 0, topic: "cdc.public.t", partition: 0, dir: "cdc.public.t-0" }];
    const files = await stage.copyToStaging(table, tps, join(dir, "copy-cdc"));
    expect(files.map((f) => [f.hivePath, f.rows])).toEqual([
      ["year=2024/month=8/day=14", 1],
      ["year=2024/month=8/day=15", 2],
      ["year=2024/month=8/day=16", 1],
    ]);
    expect(() => table.append(0, 0, 9, null, null, 0, 0, Number.NaN, "")).toThrow(/sealed/);
  } finally {
    stage.close();
  }
});
