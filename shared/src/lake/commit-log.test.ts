import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { lakeStoreBackends } from "../testing/lake-stores.ts";
import { uniqueName } from "../testing/names.ts";
import {
  type AppendCommit,
  appendCommitId,
  CommitConflictError,
  CommitLog,
  CommitLogError,
  type CompactionCommit,
  type DatasetRef,
  offsetRanges,
  parseRecord,
} from "./commit-log.ts";
import { createLakeStore } from "./store.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "commit-log-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ds: DatasetRef = { layer: "bronze", name: "kraken_trades" };

function append(topic: string, partition: number, first: bigint, last: bigint, at: string): AppendCommit {
  const path = `bronze/kraken_trades/year=2024/pair=BTC_USD/${topic}-${partition}-${first}-0.parquet`;
  return {
    v: 1,
    id: appendCommitId(topic, partition, first),
    kind: "append",
    layer: "bronze",
    dataset: "kraken_trades",
    topic,
    partition,
    first_offset: first.toString(),
    last_offset: last.toString(),
    rows: Number(last - first + 1n),
    files: [
      { path, rows: Number(last - first + 1n), bytes: 10, partition: { year: "2024", pair: "BTC_USD" } },
    ],
    committed_at: at,
    writer: "w1",
    staged: [`_tributary/staging/${path}`],
  };
}

const stores = lakeStoreBackends(config, scratch, "log");

for (const [kind, make] of stores) {
  describe(`CommitLog (${kind})`, () => {
    test("the resume offset is the chain tip's last_offset + 1, per topic-partition, 0 when empty", async () => {
      const log = new CommitLog(make(), { hintEveryMs: 0 });
      expect(await log.resumeOffset(ds, "kraken.trades", 0)).toBe(0n);
      await log.append(ds, append("kraken.trades", 0, 0n, 99n, "2024-05-01T14:00:00.000001Z"));
      await log.append(ds, append("kraken.trades", 0, 100n, 149n, "2024-05-01T14:00:01.000001Z"));
      await log.append(ds, append("kraken.trades", 1, 0n, 9n, "2024-05-01T14:00:01.000002Z"));
      expect(await log.resumeOffset(ds, "kraken.trades", 0)).toBe(150n);
      expect(await log.resumeOffset(ds, "kraken.trades", 1)).toBe(10n);
      expect(await log.resumeOffset(ds, "kraken.trades", 2)).toBe(0n);
      const chain = await log.chain(ds, "kraken.trades", 0, { fromOffset: 0n });
      expect(chain.records.map((r) => r.first_offset)).toEqual(["0", "100"]);
    });

    test("a second record for the same range start is refused: the chain cannot fork", async () => {
      const log = new CommitLog(make());
      await log.append(ds, append("kraken.trades", 0, 0n, 99n, "2024-05-01T14:00:00.000001Z"));
      await expect(
        log.append(ds, append("kraken.trades", 0, 0n, 120n, "2024-05-01T14:00:00.000002Z")),
      ).rejects.toBeInstanceOf(CommitConflictError);
      expect(await log.resumeOffset(ds, "kraken.trades", 0)).toBe(100n);
    });

    test("readSince returns records in (committed_at, id) order and a cursor that skips nothing that lands late", async () => {
      const log = new CommitLog(make());
      await log.append(ds, append("kraken.trades", 0, 0n, 9n, "2024-05-01T14:00:02.000000Z"));
      await log.append(ds, append("kraken.trades", 1, 0n, 4n, "2024-05-01T14:00:01.000000Z"));
      const first = await log.readSince(ds);
      expect(first.records.map((r) => r.id)).toEqual([
        "kraken.trades/1/00000000000000000000",
        "kraken.trades/0/00000000000000000000",
      ]);
      // A record with an older clock arrives after the first read: the cursor still returns it.
      await log.append(ds, append("kraken.trades", 1, 5n, 7n, "2024-05-01T13:59:59.000000Z"));
      const compaction: CompactionCommit = {
        v: 1,
        id: "20240501T150000000000Z-ab",
        kind: "compaction",
        layer: "bronze",
        dataset: "kraken_trades",
        rows: 10,
        files: [
          {
            path: "bronze/kraken_trades/year=2024/pair=BTC_USD/c.parquet",
            rows: 10,
            bytes: 9,
            partition: {},
          },
        ],
        replaces: ["bronze/kraken_trades/year=2024/pair=BTC_USD/kraken.trades-0-0-0.parquet"],
        committed_at: "2024-05-01T15:00:00.000000Z",
        writer: "c1",
        staged: ["_tributary/staging/c.parquet"],
      };
      await log.compaction(ds, compaction);
      const second = await log.readSince(ds, first.cursor);
      expect(second.records.map((r) => r.id)).toEqual([
        "kraken.trades/1/00000000000000000005",
        compaction.id,
      ]);
      expect(offsetRanges(second.records)).toEqual([
        { topic: "kraken.trades", partition: 1, first: 5n, last: 7n },
      ]);
      expect((await log.readSince(ds, second.cursor)).records).toEqual([]);
      // liveFiles applies the compaction: the replaced file is gone, the new one is there.
      const live = (await log.liveFiles(ds)).map((f) => f.path.split("/").at(-1));
      expect(live).toEqual(["c.parquet", "kraken.trades-1-0-0.parquet", "kraken.trades-1-5-0.parquet"]);
    });

    test("a stale tip hint is only a starting point: the walk continues to the real tip", async () => {
      const store = make();
      const log = new CommitLog(store, { hintEveryMs: 0 });
      await log.append(ds, append("kraken.trades", 4, 0n, 9n, "2024-05-01T14:00:00.000000Z"));
      const lazy = new CommitLog(store, { hintEveryMs: 3_600_000 });
      await lazy.append(ds, append("kraken.trades", 4, 10n, 19n, "2024-05-01T14:00:01.000000Z"));
      await lazy.append(ds, append("kraken.trades", 4, 20n, 29n, "2024-05-01T14:00:02.000000Z"));
      expect(await log.resumeOffset(ds, "kraken.trades", 4)).toBe(30n);
    });
  });
}

test("a damaged record is an error naming its key, never silently skipped", () => {
  expect(() => parseRecord("k1.json", "{not json")).toThrow(CommitLogError);
  expect(() => parseRecord("k2.json", JSON.stringify({ v: 2, kind: "append" }))).toThrow(/k2\.json/);
});

test("a record for another dataset or with misaligned staged paths is refused before writing", async () => {
  const log = new CommitLog(
    createLakeStore({ lake: { ...config.lake, uri: join(scratch, uniqueName("lake")) }, s3: config.s3 }),
  );
  const r = append("kraken.trades", 0, 0n, 9n, "2024-05-01T14:00:00.000000Z");
  await expect(log.append({ layer: "bronze", name: "other" }, r)).rejects.toThrow(/not bronze\/other/);
  await expect(log.append(ds, { ...r, staged: [] })).rejects.toThrow(/1 files but 0 staged/);
  await expect(log.append(ds, { ...r, first_offset: "10", last_offset: "9" })).rejects.toThrow(
    /last_offset 9 < first_offset 10/,
  );
});
