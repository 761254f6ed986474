import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import {
  type AppendCommit,
  appendCommitId,
  CommitLog,
  type DatasetRef,
} from "@tributary/shared/lake/commit-log";
import { createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { reconcilePartitions } from "./recovery.ts";
import { attemptDir, publishedFileName, tpDirValue } from "./staging.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-recovery-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ds: DatasetRef = { layer: "bronze", name: "kraken_trades" };
const topic = "kraken.trades";
const quiet = createLogger("test", "warn");

/** Stages one file of `attempt` for the range starting at `first`; returns its staged key and final path. */
async function stage(
  store: LakeStore,
  attempt: string,
  partition: number,
  first: bigint,
): Promise<[string, string]> {
  const staged = `${attemptDir(ds, attempt)}/tp=${tpDirValue(topic, partition, first)}/year=2024/pair=BTC_USD/part_0.parquet`;
  await store.put(staged, `rows of ${attempt}`);
  return [
    staged,
    `bronze/kraken_trades/year=2024/pair=BTC_USD/${publishedFileName(topic, partition, first, 0)}`,
  ];
}

function record(
  partition: number,
  first: bigint,
  last: bigint,
  writer: string,
  staged: string,
  path: string,
): AppendCommit {
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
    committed_at: "2024-05-01T14:00:00.000000Z",
    writer,
    staged: [staged],
  };
}

for (const kind of ["local", "s3"] as const) {
  test(`recovery (${kind}) rolls committed files forward, deletes what can never commit, keeps a possible in-flight commit`, async () => {
    const uri =
      kind === "local" ? join(scratch, uniqueName("lake")) : `s3://${config.s3.bucket}/${uniqueName("lake")}`;
    const store = createLakeStore({ lake: { ...config.lake, uri }, s3: config.s3 });
    const log = new CommitLog(store);
    // Partition 0: range 0..99 committed by w1 but never published (crash after the record).
    const [s1, p1] = await stage(store, "w1-1", 0, 0n);
    await log.append(ds, record(0, 0n, 99n, "w1-1", s1, p1));
    // A zombie w2 staged the same range and lost the key: garbage.
    const [s2, p2] = await stage(store, "w2-9", 0, 0n);
    // w1 died mid-COPY of the next range (100..): no record; may still be committed by a live writer.
    const [s3, p3] = await stage(store, "w1-2", 0, 100n);
    // A stale attempt far behind the chain: garbage.
    const [s4] = await stage(store, "w3-1", 0, 50n);
    // Partition 1 is not being recovered: untouched.
    const [s5] = await stage(store, "w1-1", 1, 0n);

    const result = await reconcilePartitions(store, log, ds, topic, [0], quiet);
    expect(result.resume.get(0)).toBe(100n);
    expect(result.rolledForward).toBe(1);
    expect(await store.readText(p1)).toBe("rows of w1-1");
    expect(await store.exists(s1)).toBe(false);
    expect(await store.exists(s2)).toBe(false);
    // The zombie's range has the same published name: it holds the winner's rows, never the zombie's.
    expect(await store.readText(p2)).toBe("rows of w1-1");
    expect(await store.exists(s3)).toBe(true);
    expect(await store.exists(p3)).toBe(false);
    expect(await store.exists(s4)).toBe(false);
    expect(await store.exists(s5)).toBe(true);

    // Once another attempt commits 100.., the leftover of w1-2 is garbage too; recovery is idempotent.
    const [s6, p6] = await stage(store, "w4-1", 0, 100n);
    await log.append(ds, record(0, 100n, 180n, "w4-1", s6, p6));
    const again = await reconcilePartitions(store, log, ds, topic, [0], quiet);
    expect(again.resume.get(0)).toBe(181n);
    expect(await store.exists(s3)).toBe(false);
    expect(await store.readText(p6)).toBe("rows of w4-1");
    expect(await store.readText(p1)).toBe("rows of w1-1");
  }, 60_000);
}
