import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AppendCommit,
  appendCommitId,
  CommitLog,
  compactionCommitId,
} from "@tributary/shared/lake/commit-log";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { LakeCatalog, partitionOf } from "./catalog.ts";
import { checkSegment, confine, PathError } from "./paths.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lakeDir(): string {
  const d = mkdtempSync(join(tmpdir(), "catalog-"));
  dirs.push(d);
  return d;
}

const ds = { layer: "bronze", name: "kraken_trades" } as const;

function append(first: bigint, last: bigint, at: string, hour: string, rows: number): AppendCommit {
  const path = `bronze/kraken_trades/year=2024/month=5/day=1/hour=${hour}/pair=BTC_USD/kraken.trades-0-${first}.parquet`;
  return {
    v: 1,
    kind: "append",
    id: appendCommitId("kraken.trades", 0, first),
    layer: "bronze",
    dataset: "kraken_trades",
    topic: "kraken.trades",
    partition: 0,
    first_offset: first.toString(),
    last_offset: last.toString(),
    rows,
    files: [
      {
        path,
        rows,
        bytes: 1000,
        partition: { year: "2024", month: "5", day: "1", hour, pair: "BTC_USD" },
      },
    ],
    committed_at: at,
    writer: "w1",
    staged: [`_tributary/staging/${first}.parquet`],
  };
}

describe("lake catalog from the commit log", () => {
  test("rows, files, partitions and the last commit come from the commit records, read incrementally", async () => {
    const store = new LocalLakeStore(lakeDir());
    const log = new CommitLog(store);
    await log.append(ds, append(0n, 9n, "2024-05-01T14:10:00.000000Z", "14", 10));
    await log.append(ds, append(10n, 24n, "2024-05-01T15:05:00.000000Z", "15", 15));
    // The dataset directory exists once files are published.
    await store.put("bronze/kraken_trades/.keep", "");
    const now = Date.parse("2024-05-01T15:15:00Z");
    const catalog = new LakeCatalog({
      store,
      staleAfterS: { bronze: 600, silver: 3600, gold: 90_000 },
      now: () => now,
    });
    const [first] = await catalog.datasets();
    expect(first).toMatchObject({
      layer: "bronze",
      name: "kraken_trades",
      files: 2,
      rows: 25,
      bytes: 2000,
      partitions: 2,
      source: "commit-log",
      lastCommitMs: Date.parse("2024-05-01T15:05:00Z"),
      freshnessS: 600,
      stale: false,
    });
    expect(first?.partitionKeys).toEqual(["year", "month", "day", "hour", "pair"]);

    // A later append and a compaction of hour 14 are picked up on the next refresh.
    await log.append(ds, append(25n, 29n, "2024-05-01T15:14:00.000000Z", "15", 5));
    const compacted = "bronze/kraken_trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/compacted.parquet";
    await log.compaction(ds, {
      v: 1,
      kind: "compaction",
      id: compactionCommitId("2024-05-01T15:14:30.000000Z", "aa"),
      layer: "bronze",
      dataset: "kraken_trades",
      rows: 10,
      files: [
        {
          path: compacted,
          rows: 10,
          bytes: 800,
          partition: { year: "2024", month: "5", day: "1", hour: "14", pair: "BTC_USD" },
        },
      ],
      replaces: [
        "bronze/kraken_trades/year=2024/month=5/day=1/hour=14/pair=BTC_USD/kraken.trades-0-0.parquet",
      ],
      committed_at: "2024-05-01T15:14:30.000000Z",
      writer: "c1",
      staged: ["_tributary/staging/c.parquet"],
    });
    const again = await catalog.dataset("bronze", "kraken_trades");
    expect([again.files, again.rows, again.bytes]).toEqual([3, 30, 2800]);
    expect(again.lastCommitMs).toBe(Date.parse("2024-05-01T15:14:30Z"));
    const partitions = await catalog.partitions("bronze", "kraken_trades");
    expect(partitions.map((p) => [p.path, p.files, p.rows])).toEqual([
      ["year=2024/month=5/day=1/hour=15/pair=BTC_USD", 2, 20],
      ["year=2024/month=5/day=1/hour=14/pair=BTC_USD", 1, 10],
    ]);
  });

  test("a dataset whose newest commit is older than its layer's limit is stale", async () => {
    const store = new LocalLakeStore(lakeDir());
    await new CommitLog(store).append(ds, append(0n, 0n, "2024-05-01T14:00:00.000000Z", "14", 1));
    await store.put("bronze/kraken_trades/.keep", "");
    const catalog = new LakeCatalog({
      store,
      staleAfterS: { bronze: 600, silver: 3600, gold: 90_000 },
      now: () => Date.parse("2024-05-01T14:10:01Z"),
    });
    const d = await catalog.dataset("bronze", "kraken_trades");
    expect([d.stale, d.freshnessS]).toEqual([true, 601]);
  });

  test("hive partition values are read from paths", () => {
    expect(partitionOf("year=2024/pair=BTC_USD/x.parquet")).toEqual({ year: "2024", pair: "BTC_USD" });
    expect(partitionOf("x.parquet")).toEqual({});
  });
});

describe("path confinement", () => {
  test("names with separators, dots or traversal are refused; valid ones stay inside the root", () => {
    const root = lakeDir();
    for (const bad of ["..", ".", "a/b", "..%2F", ".hidden", "", "a\\b", "x".repeat(300)]) {
      expect(() => checkSegment(bad, "dataset")).toThrow(PathError);
    }
    expect(confine(root, ["bronze", "kraken_trades"])).toBe(join(root, "bronze", "kraken_trades"));
  });
});
