/**
 * Apache Spark with Iceberg's runtime reads a bronze table after compaction, snapshot expiry and
 * orphan removal: every row of the current snapshot, `VERSION AS OF` a kept snapshot, and a refusal
 * for a snapshot that compaction or expiry removed (its files may be gone). One JVM for the file.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog, type DatasetRef } from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { expireSnapshots } from "@tributary/shared/lake/iceberg/expire";
import type { Snapshot } from "@tributary/shared/lake/iceberg/metadata";
import { removeOrphanFiles } from "@tributary/shared/lake/iceberg/orphans";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { icebergCatalogConf, SparkQueryError, SparkSession } from "@tributary/stack/testing/spark";
import { compactDataset, DEFAULT_COMPACTION } from "../bronze/compaction.ts";
import { BronzeTableCommitter } from "../bronze/table-commit.ts";
import { commitBronze, tradeJson } from "../testing/bronze-fixture.ts";

const config = loadConfig();
const root = mkdtempSync(join(tmpdir(), "iceberg-expiry-spark-"));
const store = createLakeStore({ lake: { ...config.lake, uri: root }, s3: config.s3 });
const ds: DatasetRef = { layer: "bronze", name: "kraken_trades" };
const HOUR0 = Date.UTC(2024, 2, 4, 0);
let spark: SparkSession;

beforeAll(async () => {
  spark = await SparkSession.start({
    stateDir: config.stateDir,
    conf: icebergCatalogConf("lake", { type: "hadoop", warehouse: join(root, "_iceberg") }),
  });
}, 400_000);

afterAll(async () => {
  await spark?.[Symbol.asyncDispose]();
  rmSync(root, { recursive: true, force: true });
});

let offset = 0;
/** Commits `n` trades of `hour` (after HOUR0) as one bronze flush, then one table commit. */
async function flush(log: CommitLog, committer: BronzeTableCommitter, hour: number, n: number) {
  const records = Array.from({ length: n }, (_, i) => {
    const ts = new Date(HOUR0 + hour * 3_600_000 + (offset + i) * 1000).toISOString().replace("Z", "000Z");
    return {
      partition: 0,
      offset: offset + i,
      key: "BTC/USD",
      value: tradeJson({ trade_id: offset + i + 1, ts }),
      ingestedAt: BigInt(Date.now()) * 1000n,
    };
  });
  offset += n;
  await commitBronze(log, records);
  return (await committer.commit()).appended as Snapshot;
}

test("after compaction and expiry Spark reads every row, a kept snapshot, and refuses an expired one", async () => {
  const log = new CommitLog(store);
  const committer = new BronzeTableCommitter(store, log, new EmbeddedCatalog(store), ds, "kraken");
  const early: Snapshot[] = [];
  for (let i = 0; i < 3; i++) early.push(await flush(log, committer, 0, 50));
  const compaction = await compactDataset(
    store,
    log,
    ds,
    {
      ...DEFAULT_COMPACTION,
      graceMs: 0,
      sinceMs: HOUR0,
      now: () => HOUR0 + 3 * 3_600_000,
      tmpDir: join(root, "tmp"),
    },
    createLogger("test", "warn"),
  );
  expect(compaction.filesReplaced).toBe(3);
  const late: Snapshot[] = [];
  for (let i = 0; i < 4; i++) late.push(await flush(log, committer, 2, 25));
  const expiry = await expireSnapshots(committer.table, { maxAgeMs: 0, minKeep: 3 });
  expect(expiry.snapshotsKept).toBe(3);
  // Orphans: the manifest lists of the snapshots the compaction expired, deleted once old enough.
  const now = Date.now();
  await removeOrphanFiles(committer.table, { minAgeMs: 3_600_000 }, now);
  const orphans = await removeOrphanFiles(committer.table, { minAgeMs: 3_600_000 }, now + 3_600_000);
  expect(orphans.deleted).toBeGreaterThan(0);

  const all = await spark.sql("SELECT count(*), sum(kafka_offset) FROM lake.bronze.kraken_trades");
  expect(all.rows[0]).toEqual(["250", String((249 * 250) / 2)]);
  const kept = late[1] as Snapshot;
  const version = await spark.sql(
    `SELECT count(*) FROM lake.bronze.kraken_trades VERSION AS OF ${kept["snapshot-id"]}`,
  );
  expect(version.rows[0]).toEqual(["200"]);
  for (const gone of [early[0] as Snapshot, late[0] as Snapshot]) {
    const refused = spark.sql(
      `SELECT count(*) FROM lake.bronze.kraken_trades VERSION AS OF ${gone["snapshot-id"]}`,
    );
    await expect(refused).rejects.toBeInstanceOf(SparkQueryError);
    await expect(
      spark.sql(`SELECT count(*) FROM lake.bronze.kraken_trades VERSION AS OF ${gone["snapshot-id"]}`),
    ).rejects.toThrow(/[Cc]annot find snapshot/);
  }
  const history = await spark.sql("SELECT count(*) FROM lake.bronze.kraken_trades.snapshots");
  expect(history.rows[0]).toEqual(["3"]);
}, 600_000);
