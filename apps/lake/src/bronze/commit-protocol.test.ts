import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendCommitId, CommitLog } from "@tributary/shared/lake/commit-log";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import {
  BronzeCommitProtocol,
  type FlushedRange,
  type OffsetCommit,
  StagedRowsError,
} from "./commit-protocol.ts";
import { bronzeDatasetFor } from "./datasets.ts";
import type { StagedFile } from "./stage-table.ts";
import { attemptDir, tpDirValue } from "./staging.ts";

// The protocol on its own: a real local lake and commit log, files standing in for a COPY's output.
const ds = bronzeDatasetFor("kraken.trades", "cdc");
const log = createLogger("test", "error");
let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

interface Harness {
  readonly store: LocalLakeStore;
  readonly commits: CommitLog;
  readonly copyDir: string;
  readonly steps: string[];
  readonly offsets: OffsetCommit[];
  protocol(opts?: { failOffsets?: boolean; failStep?: boolean }): BronzeCommitProtocol;
}

function harness(): Harness {
  root = mkdtempSync(join(tmpdir(), "commit-protocol-"));
  const store = new LocalLakeStore(join(root, "lake"));
  const commits = new CommitLog(store);
  const steps: string[] = [];
  const offsets: OffsetCommit[] = [];
  return {
    store,
    commits,
    copyDir: join(root, "copy"),
    steps,
    offsets,
    protocol: (opts = {}) =>
      new BronzeCommitProtocol({
        store,
        commits,
        log,
        hit: (point) => steps.push(point),
        afterPublish: [
          {
            name: "table",
            run: async (_ds, committed) => {
              steps.push(`table:${committed.map((r) => r.id).join(",")}`);
              if (opts.failStep) throw new Error("table commit failed");
            },
          },
        ],
        commitOffsets: async (o) => {
          steps.push("offsets");
          if (opts.failOffsets) throw new Error("broker gone");
          offsets.push(...o);
        },
      }),
  };
}

/** A range of `rows` records of one partition, staged as `files` files of one hour each. */
function staged(h: Harness, partition: number, first: bigint, rows: number, files = 1) {
  const dir = tpDirValue(ds.topic, partition, first);
  const out: StagedFile[] = [];
  for (let n = 0; n < files; n++) {
    const hour = String(10 + n);
    const relPath = `tp=${dir}/p1_part_${n}.parquet`;
    const localPath = join(h.copyDir, relPath);
    mkdirSync(join(localPath, ".."), { recursive: true });
    writeFileSync(localPath, `rows of ${dir} hour ${hour}`);
    out.push({
      localPath,
      relPath,
      tpDir: dir,
      partition: { year: "2024", month: "5", day: "1", hour, pair: "BTC_USD" },
      hivePath: `year=2024/month=5/day=1/hour=${hour}/pair=BTC_USD`,
      rows: rows / files,
      bytes: 10,
    });
  }
  const range: FlushedRange = {
    topic: ds.topic,
    partition,
    dir,
    first,
    last: Number(first) + rows - 1,
    rows,
  };
  return { files: out, range };
}

function treeFiles(h: Harness): string[] {
  const walk = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name).slice(h.store.root.length + 1)],
        )
      : [];
  return walk(join(h.store.root, "bronze")).sort();
}

test("a flush commits one record per partition, publishes its files, then commits offsets, in that order", async () => {
  const h = harness();
  const a = staged(h, 0, 0n, 4, 2);
  const b = staged(h, 1, 100n, 3);
  const outcome = await h.protocol().commit(ds, "w1-1", [...a.files, ...b.files], [a.range, b.range]);

  expect(outcome.committed.map((r) => r.id)).toEqual([
    appendCommitId(ds.topic, 0, 0n),
    appendCommitId(ds.topic, 1, 100n),
  ]);
  expect(outcome.conflicts).toEqual([]);
  expect(outcome.failed).toEqual([]);
  const record = await h.commits.readAppend(ds, ds.topic, 0, 0n);
  expect(record?.rows).toBe(4);
  expect(record?.last_offset).toBe("3");
  expect(treeFiles(h)).toEqual(
    [...(record?.files ?? []), ...((await h.commits.readAppend(ds, ds.topic, 1, 100n))?.files ?? [])]
      .map((f) => f.path)
      .sort(),
  );
  expect(treeFiles(h)).toContain(
    `bronze/kraken_trades/year=2024/month=5/day=1/hour=11/pair=BTC_USD/${ds.topic}-0-${"0".padStart(20, "0")}-1.parquet`,
  );
  expect(h.offsets).toEqual([
    { topic: ds.topic, partition: 0, offset: "4" },
    { topic: ds.topic, partition: 1, offset: "103" },
  ]);
  expect(h.steps).toEqual([
    "after-stage",
    "after-commit-record",
    "mid-publish",
    "after-publish",
    `table:${outcome.committed.map((r) => r.id).join(",")}`,
    "offsets",
    "after-offset-commit",
  ]);
  expect(existsSync(h.store.url(attemptDir(ds, "w1-1")))).toBe(false);
});

test("a range another writer committed first is neither published nor offset-committed, and its staged files go", async () => {
  const h = harness();
  const theirs = staged(h, 0, 0n, 2);
  await h.protocol().commit(ds, "w2-1", theirs.files, [theirs.range]);
  h.offsets.length = 0;

  const mine = staged(h, 0, 0n, 2);
  const other = staged(h, 1, 0n, 1);
  const outcome = await h
    .protocol()
    .commit(ds, "w1-1", [...mine.files, ...other.files], [mine.range, other.range]);
  expect(outcome.conflicts.map((r) => r.partition)).toEqual([0]);
  expect(outcome.committed.map((r) => r.partition)).toEqual([1]);
  expect((await h.commits.readAppend(ds, ds.topic, 0, 0n))?.writer).toBe("w2-1");
  for (const key of outcome.conflicts[0]?.staged ?? []) expect(await h.store.exists(key)).toBe(false);
  expect(h.offsets).toEqual([{ topic: ds.topic, partition: 1, offset: "1" }]);
  expect(treeFiles(h)).toHaveLength(2);
});

test("staged rows that differ from the buffered rows stop the flush before its commit point", async () => {
  const h = harness();
  const a = staged(h, 0, 0n, 4);
  const short = { ...a.range, rows: 5, last: 4 };
  await expect(h.protocol().commit(ds, "w1-1", a.files, [short])).rejects.toBeInstanceOf(StagedRowsError);
  expect(await h.commits.readAppend(ds, ds.topic, 0, 0n)).toBeUndefined();
  expect(treeFiles(h)).toEqual([]);
  expect(h.offsets).toEqual([]);
});

test("a refused offset commit does not fail a committed flush", async () => {
  const h = harness();
  const a = staged(h, 0, 0n, 2);
  const outcome = await h.protocol({ failOffsets: true }).commit(ds, "w1-1", a.files, [a.range]);
  expect(outcome.committed).toHaveLength(1);
  expect(treeFiles(h)).toHaveLength(1);
});

test("a failing after-publish step fails the flush after its commit point: the lake keeps the committed range", async () => {
  const h = harness();
  const a = staged(h, 0, 0n, 2);
  await expect(h.protocol({ failStep: true }).commit(ds, "w1-1", a.files, [a.range])).rejects.toThrow(
    "table commit failed",
  );
  expect((await h.commits.readAppend(ds, ds.topic, 0, 0n))?.rows).toBe(2);
  expect(treeFiles(h)).toHaveLength(1);
  expect(h.offsets).toEqual([]);
});
