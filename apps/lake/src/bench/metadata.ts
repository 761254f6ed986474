/**
 * A day of one table's Iceberg commits, simulated, with maintenance on: an append every
 * LAKE_ICEBERG_COMMIT_MS (5 s: 720 an hour, 17,280 a day) as the bronze writer makes them, and each
 * hour what the scheduled jobs do: a compaction (a replace of the hour's files by one), snapshot
 * expiry and orphan removal. Simulated hours pass in seconds, so the default retention (one hour, at
 * least 10 snapshots) is applied with the hour's real length: snapshots older than the simulated hour go. Reports the current metadata file's size and the
 * metadata directory's after the first hour, at the end, and at most during the day: bounded means
 * the end is no bigger than the first hour's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { expireSnapshots } from "@tributary/shared/lake/iceberg/expire";
import type { DataFile } from "@tributary/shared/lake/iceberg/manifest";
import { removeOrphanFiles } from "@tributary/shared/lake/iceberg/orphans";
import { timeTransform } from "@tributary/shared/lake/iceberg/schema";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { SAMPLE_TABLE } from "@tributary/shared/lake/iceberg/testing";
import { LocalLakeStore } from "@tributary/shared/lake/store";

export interface MetadataBenchOptions {
  readonly hours?: number;
  readonly commitMs?: number;
}

export interface MetadataBenchResult {
  readonly commits: number;
  readonly metadata_json_kb_hour1: number;
  readonly metadata_json_kb_end: number;
  readonly metadata_json_kb_max: number;
  readonly metadata_dir_kb_hour1: number;
  readonly metadata_dir_kb_end: number;
  readonly metadata_dir_kb_max: number;
  readonly end_to_hour1_ratio: number;
  readonly snapshots_end: number;
  readonly commit_cpu_ms: number;
  readonly commits_per_s: number;
}

export const METADATA_BENCH_UNITS: Record<keyof MetadataBenchResult, string> = {
  commits: "commits",
  metadata_json_kb_hour1: "KiB",
  metadata_json_kb_end: "KiB",
  metadata_json_kb_max: "KiB",
  metadata_dir_kb_hour1: "KiB",
  metadata_dir_kb_end: "KiB",
  metadata_dir_kb_max: "KiB",
  end_to_hour1_ratio: "×",
  snapshots_end: "snapshots",
  commit_cpu_ms: "ms",
  commits_per_s: "commits/s",
};

const kb = (bytes: number): number => Math.round(bytes / 102.4) / 10;

export async function runMetadataBench(opts: MetadataBenchOptions = {}): Promise<MetadataBenchResult> {
  const hours = opts.hours ?? 24;
  const perHour = Math.round(3_600_000 / (opts.commitMs ?? 5_000));
  const dir = mkdtempSync(join(tmpdir(), "tributary-metadata-bench-"));
  try {
    const store = new LocalLakeStore(dir);
    const table = new IcebergTable(
      new EmbeddedCatalog(store),
      store,
      { namespace: "bronze", name: "t" },
      SAMPLE_TABLE,
    );
    const sizes = async (): Promise<{ json: number; dir: number }> => {
      const loaded = await table.load();
      let total = 0;
      for await (const o of store.list("_iceberg/bronze/t/metadata/")) total += o.bytes;
      const json = loaded ? (await store.read(lakeKeyOf(store, loaded.metadataLocation))).length : 0;
      return { json, dir: total };
    };
    let hour1 = { json: 0, dir: 0 };
    let max = { json: 0, dir: 0 };
    let commits = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let h = 0; h < hours; h++) {
      const hourStartMs = Date.now();
      const hourValue = timeTransform("hour", BigInt(Date.UTC(2024, 4, 1) + h * 3_600_000) * 1000n);
      const files: DataFile[] = [];
      for (let i = 0; i < perHour; i++) {
        const key = `_iceberg/bronze/t/data/h${h}/f${i}.parquet`;
        await store.put(key, "x");
        const file: DataFile = {
          path: store.url(key),
          partition: [hourValue, i % 2 === 0 ? "BTC/USD" : "ETH/USD"],
          recordCount: 100,
          fileSizeBytes: 1,
        };
        files.push(file);
        await table.commit(() => ({ operation: "append", add: [file], remove: [] }));
        commits++;
      }
      // The hour's compaction: its files replaced by one (the snapshots holding them expire with it).
      const compacted = `_iceberg/bronze/t/data/h${h}/compacted.parquet`;
      await store.put(compacted, "x");
      await table.commit(() => ({
        operation: "replace",
        add: [
          {
            path: store.url(compacted),
            partition: [hourValue, "BTC/USD"],
            recordCount: 100 * perHour,
            fileSizeBytes: 1,
          },
        ],
        remove: files.map((f) => f.path),
        expireRemoved: true,
      }));
      commits++;
      await expireSnapshots(table, { maxAgeMs: Date.now() - hourStartMs, minKeep: 10 });
      await removeOrphanFiles(table, { minAgeMs: 0 });
      const now = await sizes();
      if (h === 0) hour1 = now;
      max = { json: Math.max(max.json, now.json), dir: Math.max(max.dir, now.dir) };
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const end = await sizes();
    const loaded = await table.load();
    return {
      commits,
      metadata_json_kb_hour1: kb(hour1.json),
      metadata_json_kb_end: kb(end.json),
      metadata_json_kb_max: kb(max.json),
      metadata_dir_kb_hour1: kb(hour1.dir),
      metadata_dir_kb_end: kb(end.dir),
      metadata_dir_kb_max: kb(max.dir),
      end_to_hour1_ratio: Math.round((end.dir / Math.max(1, hour1.dir)) * 100) / 100,
      snapshots_end: loaded?.metadata.snapshots?.length ?? 0,
      commit_cpu_ms: Math.round(((cpu.user + cpu.system) / 1000 / commits) * 100) / 100,
      commits_per_s: Math.round(commits / seconds),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
