import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { currentSnapshot, type Snapshot } from "@tributary/shared/lake/iceberg/metadata";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import type { LakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { lakeStoreBackends } from "@tributary/shared/testing/lake-stores";
import { uniqueName } from "@tributary/shared/testing/names";
import { RUN_KEY } from "./dataset-table.ts";
import { type DuckSession, openDuckSession, sqlString, sqlStringList } from "./duckdb.ts";
import type { LakeJobEnv } from "./env.ts";
import { LakeReader } from "./lake-reader.ts";
import { READ_KEY_PREFIX, snapshotReader } from "./snapshot-reader.ts";
import { collectStaged, type FileLayout, publishStaged } from "./staged-publish.ts";
import { createStaging } from "./staging.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "staged-publish-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A gold-like layout: one file per pair and day, `gold/<dataset>/pair=<pair>/<day>.parquet`. */
interface DayFile {
  readonly pair: string;
  readonly day: string;
}
const DAY_FILES: FileLayout<DayFile> = {
  id: (f) => `${f.pair}|${f.day}`,
  key: (dataset, f) => `gold/${dataset}/pair=${f.pair}/${f.day}.parquet`,
  parseStaged(rel) {
    const m = /p_pair=([^/]+)\/p_day=([^/]+)\/[^/]+\.parquet$/.exec(rel);
    return m ? { pair: m[1] as string, day: m[2] as string } : undefined;
  },
};

/** Rows `(pair, id, price)`: ids 1..n of each pair, price = id * `mult` + 0.5, as DECIMAL. */
function rowsSql(pairs: ReadonlyArray<readonly [pair: string, n: number]>, mult: number): string {
  return pairs
    .map(
      ([pair, n]) => `SELECT '${pair}' AS pair, i::BIGINT AS id, (i * ${mult} + 0.5)::DECIMAL(38,10) AS price,
  '${pair}' AS p_pair, '2024-03-10' AS p_day FROM range(1, ${n + 1}) t(i)`,
    )
    .join(" UNION ALL ");
}

/** One run: DuckDB stages the rows, and the run publishes them, owning every pair of `owned`. */
async function run(
  env: LakeJobEnv,
  duck: DuckSession,
  dataset: string,
  pairs: ReadonlyArray<readonly [string, number]>,
  mult: number,
  owned: readonly string[],
): Promise<{ published: number; deleted: number; snapshots: number }> {
  using staging = createStaging(env.store, "gold.test", env.scratchDir);
  await duck.run(`COPY (${rowsSql(pairs, mult)}) TO ${sqlString(`${staging.dir}/${dataset}`)}
  (FORMAT parquet, PARTITION_BY (p_pair, p_day), WRITE_PARTITION_COLUMNS false)`);
  const files = owned.map((pair) => ({ pair, day: "2024-03-10" }));
  const staged = await collectStaged(duck, staging, DAY_FILES, dataset, "id", files);
  return await publishStaged(env, staging, staged);
}

/** Count and exact sum of prices over lake keys (downloaded on S3). */
async function aggregate(env: LakeJobEnv, duck: DuckSession, keys: readonly string[]): Promise<string[]> {
  using reader = new LakeReader(env.store, env.scratchDir);
  const [row] = await duck.rows(
    `SELECT count(*)::VARCHAR AS n, sum(price)::VARCHAR AS s FROM read_parquet(${sqlStringList(await reader.paths(keys))})`,
  );
  return [String(row?.n), String(row?.s)];
}

/** The store, except that `copy` fails: the process "dies" between the table commit and the Hive view. */
function crashingOnCopy(store: LakeStore): LakeStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "copy") return async () => Promise.reject(new Error("killed before the Hive copy"));
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A Hive file older than any table: SOL/USD rows 1..3, `id` of the given type, at `key`. */
async function putOldFile(
  duck: DuckSession,
  store: LakeStore,
  dir: string,
  key: string,
  idType: string,
): Promise<void> {
  const old = join(dir, "old.parquet");
  await duck.run(
    `COPY (SELECT 'SOL/USD' AS pair, i::${idType} AS id, (i + 0.25)::DECIMAL(38,10) AS price FROM range(1, 4) t(i)) TO ${sqlString(old)} (FORMAT parquet)`,
  );
  await store.putFile(old, key);
}

/** A job env over `store` with its own scratch directory and the embedded catalog. */
function jobEnv(store: LakeStore): { store: LakeStore; dir: string; env: LakeJobEnv } {
  const dir = join(scratch, uniqueName("env"));
  mkdirSync(dir, { recursive: true });
  const env: LakeJobEnv = {
    store,
    commitLog: new CommitLog(store),
    catalog: new EmbeddedCatalog(store),
    log: createLogger("test", "error"),
    scratchDir: dir,
  };
  return { store, dir, env };
}

for (const [kind, make] of lakeStoreBackends(config, scratch, "publish")) {
  describe(`publishStaged commits each run as an Iceberg snapshot (${kind})`, () => {
    test("two runs: each snapshot reads its own run's rows, the Hive key the last run's bytes; a crashed run's re-run never duplicates", async () => {
      const { store, dir, env } = jobEnv(make());
      using duck = await openDuckSession();
      const dataset = "candles_test";
      const id = { namespace: "gold", name: dataset };
      const btc = `gold/${dataset}/pair=BTC_USD/2024-03-10.parquet`;
      const eth = `gold/${dataset}/pair=ETH_USD/2024-03-10.parquet`;
      const sol = `gold/${dataset}/pair=SOL_USD/2024-03-09.parquet`;
      // A Hive file older than the table: the first snapshot imports it.
      await putOldFile(duck, store, dir, sol, "BIGINT");

      expect(
        await run(
          env,
          duck,
          dataset,
          [
            ["BTC_USD", 10],
            ["ETH_USD", 5],
          ],
          1,
          ["BTC_USD", "ETH_USD"],
        ),
      ).toEqual({
        published: 2,
        deleted: 0,
        snapshots: 1,
      });
      // Run 2 rewrites BTC's day and empties ETH's.
      expect(await run(env, duck, dataset, [["BTC_USD", 12]], 2, ["BTC_USD", "ETH_USD"])).toEqual({
        published: 1,
        deleted: 1,
        snapshots: 1,
      });

      const table = new IcebergTable(env.catalog as EmbeddedCatalog, store, id, {
        columns: [],
        partitionBy: [],
      });
      const loaded = await table.load();
      const snapshots = loaded?.metadata.snapshots ?? [];
      expect(snapshots.map((s) => s.summary.operation)).toEqual(["append", "overwrite"]);
      const [s1, s2] = snapshots as [Snapshot, Snapshot];
      expect(s1.summary[RUN_KEY]).toMatch(/^gold\.test\/[0-9a-z]+-[0-9a-f]{8}$/);
      expect(s2.summary[RUN_KEY]).not.toBe(s1.summary[RUN_KEY]);
      const keysOf = async (s: Snapshot) =>
        (await table.files(s)).map((f) => lakeKeyOf(store, f.path)).sort();
      const k1 = await keysOf(s1);
      const k2 = await keysOf(s2);
      expect(k1).toHaveLength(3);
      expect(k2).toHaveLength(2);
      for (const k of [...k1, ...k2])
        expect(k).toMatch(new RegExp(`^_iceberg/gold/${dataset}/data/pair=[A-Z_]+/`));
      // Snapshot 1: run 1's rows (BTC 1..10 × 1, ETH 1..5 × 1) and the imported SOL file.
      expect(await aggregate(env, duck, k1)).toEqual(["18", "84.2500000000"]);
      // Snapshot 2: run 2's BTC (1..12 × 2) and SOL; ETH is gone.
      expect(await aggregate(env, duck, k2)).toEqual(["15", "168.7500000000"]);
      expect(s2.summary).toMatchObject({
        "added-data-files": "1",
        "deleted-data-files": "2",
        "total-records": "15",
      });
      // The Hive tree is the current view: BTC holds run 2's very bytes, ETH's file is deleted.
      const btcNow = k2.find((k) => k.includes("BTC_USD")) as string;
      expect(Buffer.compare(Buffer.from(await store.read(btc)), Buffer.from(await store.read(btcNow)))).toBe(
        0,
      );
      expect(await store.exists(eth)).toBe(false);
      expect(await aggregate(env, duck, [btc, sol])).toEqual(["15", "168.7500000000"]);

      // Run 3 dies after its commit, before the Hive copy: the table is ahead, the Hive view stale.
      const crashing = { ...env, store: crashingOnCopy(store) };
      await expect(run(crashing, duck, dataset, [["BTC_USD", 13]], 3, ["BTC_USD"])).rejects.toThrow(
        /killed before the Hive copy/,
      );
      expect(Buffer.compare(Buffer.from(await store.read(btc)), Buffer.from(await store.read(btcNow)))).toBe(
        0,
      );
      // Its re-run (a new run id) replaces by Hive key: one file per key, never two.
      await run(env, duck, dataset, [["BTC_USD", 13]], 3, ["BTC_USD"]);
      const after = await table.load();
      const s4 = currentSnapshot(after?.metadata ?? ({} as never)) as Snapshot;
      expect(after?.metadata.snapshots?.length).toBe(4);
      const k4 = await keysOf(s4);
      expect(k4.map((k) => k.replace(/\/[^/]+\.parquet$/, ""))).toEqual([
        `_iceberg/gold/${dataset}/data/pair=BTC_USD/2024-03-10`,
        `_iceberg/gold/${dataset}/data/pair=SOL_USD/2024-03-09`,
      ]);
      expect(s4.summary).toMatchObject({ "total-data-files": "2", "total-records": "16" });
      expect(await aggregate(env, duck, k4)).toEqual(["16", "286.2500000000"]);
      expect(await aggregate(env, duck, [btc, sol])).toEqual(["16", "286.2500000000"]);
    }, 60_000);

    test("a snapshot reader keeps reading the snapshot it pinned while a later run replaces the Hive files", async () => {
      const { env } = jobEnv(make());
      using duck = await openDuckSession();
      const dataset = "pinned_test";
      const prefix = `gold/${dataset}/`;
      await run(
        env,
        duck,
        dataset,
        [
          ["BTC_USD", 10],
          ["ETH_USD", 5],
        ],
        1,
        ["BTC_USD", "ETH_USD"],
      );
      using pinned = snapshotReader(env, ["gold"]);
      const keys = await pinned.parquetKeys(prefix);
      expect(keys).toEqual([
        `${prefix}pair=BTC_USD/2024-03-10.parquet`,
        `${prefix}pair=ETH_USD/2024-03-10.parquet`,
      ]);
      const first = await pinned.snapshotsRead();
      // Run 2 rewrites BTC's day and empties ETH's: the Hive tree changes under the pinned reader.
      await run(env, duck, dataset, [["BTC_USD", 12]], 2, ["BTC_USD", "ETH_USD"]);
      expect(await pinned.parquetKeys(prefix)).toEqual(keys);
      expect(await pinned.existing(keys)).toEqual(keys);
      // Run 1's rows: BTC 1..10 at i + 0.5, ETH 1..5 at i + 0.5.
      const [row] = await duck.rows(
        `SELECT count(*)::VARCHAR AS n, sum(price)::VARCHAR AS s FROM read_parquet(${sqlStringList(await pinned.paths(keys))})`,
      );
      expect([row?.n, row?.s]).toEqual(["15", "77.5000000000"]);
      expect(await pinned.snapshotsRead()).toEqual(first);
      // A new reader pins run 2: BTC only, 1..12 at 2i + 0.5, and names a newer snapshot.
      using fresh = snapshotReader(env, ["gold"]);
      const now = await fresh.parquetKeys(prefix);
      expect(now).toEqual([`${prefix}pair=BTC_USD/2024-03-10.parquet`]);
      expect(await aggregate(env, duck, now)).toEqual(["12", "162.0000000000"]);
      const second = await fresh.snapshotsRead();
      const name = `${READ_KEY_PREFIX}gold.${dataset}`;
      expect(Object.keys(second)).toEqual([name]);
      expect(second[name]).not.toBe(first[name]);
      // What changed since a snapshot: BTC rewritten and ETH emptied since run 1, nothing since run 2,
      // every key since "none" (read before the first snapshot); an unknown (expired) one cannot say.
      const table = { namespace: "gold", name: dataset };
      const [btc, eth] = keys as [string, string];
      expect(await fresh.changedSince(table, first[name] as string)).toEqual([btc, eth]);
      expect(await fresh.changedSince(table, second[name] as string)).toEqual([]);
      expect(await fresh.changedSince(table, "none")).toEqual([btc]);
      expect(await fresh.changedSince(table, "12345")).toBeUndefined();
      const lines: string[] = [];
      const log = createLogger("test", "info", (l) => lines.push(l));
      expect(await fresh.changedSinceRead(first, "gold", [dataset, "never_read"], log)).toEqual([btc, eth]);
      expect(await fresh.changedSinceRead({ [name]: "12345" }, "gold", [dataset], log)).toEqual([]);
      expect(lines.map((l) => JSON.parse(l) as { msg: string; table: string })).toMatchObject([
        {
          msg: expect.stringContaining("the snapshot a previous run read is gone"),
          table: `gold.${dataset}`,
        },
      ]);
      // Outside the pinned layers, reads go to the Hive tree as before.
      using silverOnly = snapshotReader(env, ["silver"]);
      expect(await silverOnly.parquetKeys(prefix)).toEqual(now);
      expect(await silverOnly.snapshotsRead()).toEqual({});
    });

    test("older Hive files whose column has another type keep the dataset Hive-only, and the run still publishes", async () => {
      const { store, dir, env } = jobEnv(make());
      using duck = await openDuckSession();
      const dataset = "clash_test";
      // Written before a type change: `id` was a UBIGINT (as CDC silver's `_lsn` was).
      await putOldFile(duck, store, dir, `gold/${dataset}/pair=SOL_USD/2024-03-09.parquet`, "UBIGINT");
      const result = await run(env, duck, dataset, [["BTC_USD", 4]], 1, ["BTC_USD"]);
      expect(result).toEqual({ published: 1, deleted: 0, snapshots: 0 });
      expect(await new EmbeddedCatalog(store).load({ namespace: "gold", name: dataset })).toBeUndefined();
      expect(await aggregate(env, duck, [`gold/${dataset}/pair=BTC_USD/2024-03-10.parquet`])).toEqual([
        "4",
        "12.0000000000",
      ]);
    });
  });
}
