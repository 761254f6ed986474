/**
 * `migrateLake` on a v1 lake: the lake fixture's real jobs build a v2 lake (bronze with a compaction,
 * silver with its key index, gold, CDC), the test turns it into v1 form on its own (every key and
 * every path a commit record names), and the bronze committer then builds Iceberg tables over the v1
 * log, as a v1 writer would have. Migrating must leave every file at its v2 key with the same rows,
 * readable with hive_partitioning as the contract says, the commit log and the Iceberg tables naming
 * existing files, silver and the table committer working on; a dry run and a second run change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog, type CommitRecord, type DatasetRef } from "@tributary/shared/lake/commit-log";
import { EmbeddedCatalog, lakeKeyOf } from "@tributary/shared/lake/iceberg/catalog";
import { currentSnapshot } from "@tributary/shared/lake/iceberg/metadata";
import { currentLayoutKey } from "@tributary/shared/lake/layout";
import { type LakeStore, LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { lakeStoreBackends } from "@tributary/shared/testing/lake-stores";
import { BronzeTableCommitter } from "../bronze/table-commit.ts";
import { openDuckSession, sqlString } from "../runtime/duckdb.ts";
import type { LakeJobEnv } from "../runtime/env.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { commitBronze, compactBronzeDir, tradeJson } from "../testing/bronze-fixture.ts";
import { buildLakeFixture } from "../testing/lake-fixture.ts";
import { LAYOUT_MARKER_KEY, LayoutMigrationError, migrateLake, migrationSummary } from "./migrate.ts";

const log = createLogger("test", "error");
const PREFIXES = ["bronze/", "silver/", "gold/", "_tributary/"];
const TRADES: DatasetRef = { layer: "bronze", name: "kraken_trades" };
const CDC: DatasetRef = { layer: "bronze", name: "cdc_public_tesouro_prices" };

/** The v1 form of a v2 key (the inverse of currentLayoutKey on this lake's keys), written independently. */
function v1Key(key: string): string {
  return key
    .split("/")
    .map((seg) => {
      const m = /^(year|month|day|hour|pair)=(.*)$/.exec(seg);
      if (m === null || seg.endsWith(".parquet")) return seg;
      const [, k, v] = m as unknown as [string, string, string];
      if (k === "pair") return `symbol=${v}`;
      return k === "year" ? seg : `${k}=${v.padStart(2, "0")}`;
    })
    .join("/");
}

function v1Record(r: CommitRecord): CommitRecord {
  const files = r.files.map((f) => ({
    ...f,
    path: v1Key(f.path),
    partition: Object.fromEntries(
      Object.entries(f.partition).map(([k, v]) => {
        const [k1, v1] = v1Key(`${k}=${v}`).split("=") as [string, string];
        return [k1, v1];
      }),
    ),
  }));
  const staged = r.staged.map(v1Key);
  return r.kind === "compaction"
    ? { ...r, files, staged, replaces: r.replaces.map(v1Key) }
    : { ...r, files, staged };
}

/** Rewrites a v2 lake into v1 form: every key, then every path and value the commit records name. */
async function downgradeToV1(store: LakeStore): Promise<void> {
  for (const key of await keysOf(store)) if (v1Key(key) !== key) await store.move(key, v1Key(key));
  for await (const o of store.list("_tributary/commits/")) {
    if (!/\/(append|compaction)\/.+\.json$/.test(o.key)) continue;
    const record = JSON.parse(await store.readText(o.key)) as CommitRecord;
    await store.put(o.key, `${JSON.stringify(v1Record(record))}\n`);
  }
}

async function keysOf(store: LakeStore): Promise<string[]> {
  const out: string[] = [];
  for (const p of [...PREFIXES, "_iceberg/"]) for await (const o of store.list(p)) out.push(o.key);
  return out;
}

/** Every object of the lake (warehouse included) with a digest of its bytes. */
async function snapshotOf(store: LakeStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of [...PREFIXES, "_iceberg/"]) {
    for await (const o of store.list(p))
      out.set(
        o.key,
        createHash("sha256")
          .update(await store.read(o.key))
          .digest("hex"),
      );
  }
  return out;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  using duck = await openDuckSession();
  return await duck.rows(sql);
}

let base: string;
let store: LocalLakeStore;
let commitLog: CommitLog;
let env: LakeJobEnv;
const catalog = () => new EmbeddedCatalog(store);
const scan = (dataset: string, hive: boolean): string =>
  `read_parquet(${sqlString(`${store.root}/${dataset}/**/*.parquet`)}, hive_partitioning = ${hive}, union_by_name = true)`;
const countOf = async (dataset: string): Promise<number> =>
  Number((await query(`SELECT count(*) AS n FROM ${scan(dataset, false)}`))[0]?.n);

const COUNTED = ["bronze/kraken_trades", "bronze/kraken_ticker", "silver/kraken_trades", "gold/candles_1m"];
const before = new Map<string, number>();
let v1Keys: string[];
let offsetsBefore: Record<string, string | undefined>;

/** The current snapshot of a bronze dataset's Iceberg table (the test expects one). */
async function tableSnapshot(ds: DatasetRef) {
  const loaded = await catalog().load({ namespace: ds.layer, name: ds.name });
  const snap = loaded === undefined ? undefined : currentSnapshot(loaded.metadata);
  if (snap === undefined) throw new Error(`no Iceberg snapshot for ${ds.name}`);
  return snap;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "lake-migrate-"));
  const dir = join(base, "lake");
  await buildLakeFixture(dir, { hours: 3, tradeEverySeconds: 120 });
  store = new LocalLakeStore(dir);
  commitLog = new CommitLog(store);
  env = {
    store,
    commitLog,
    log,
    scratchDir: join(base, "scratch"),
    duck: { threads: 2, memoryLimitMb: 1024 },
  };
  await compactBronzeDir(commitLog, "bronze/kraken_trades/year=2024/month=3/day=4/hour=1/pair=BTC_USD");

  await downgradeToV1(store);
  // Iceberg tables over the v1 log, as the bronze writer of a v1 lake committed them.
  for (const [ds, kind] of [
    [TRADES, "kraken"],
    [CDC, "cdc"],
  ] as const)
    await new BronzeTableCommitter(store, commitLog, catalog(), ds, kind).commit();
  offsetsBefore = {};
  for (const ds of [TRADES, CDC])
    offsetsBefore[ds.name] = (await tableSnapshot(ds)).summary["tributary.offsets"];
  for (const d of COUNTED) before.set(d, await countOf(d));
  v1Keys = (await keysOf(store)).filter((k) => currentLayoutKey(k) !== k);
}, 300_000);

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("migrateLake on a v1 lake", () => {
  test("the lake starts in v1 form: symbol= and zero-padded keys, symbol shadowed by the path", async () => {
    expect(v1Keys.length).toBeGreaterThan(20);
    expect(v1Keys.some((k) => k.startsWith("gold/") && k.includes("/symbol=BTC_USD/"))).toBe(true);
    expect(v1Keys.some((k) => k.startsWith("_tributary/silver/kraken_trades/keys/symbol="))).toBe(true);
    const symbols = await query(
      `SELECT DISTINCT symbol FROM ${scan("bronze/kraken_trades", true)} ORDER BY 1`,
    );
    expect(symbols.map((r) => r.symbol)).toEqual(["BTC_USD", "ETH_USD"]);
  });

  test("a dry run lists every move and changes nothing", async () => {
    const snap = await snapshotOf(store);
    const result = await migrateLake(store, { dryRun: true, log, catalog: catalog() });
    expect(result.moves.map((m) => m.from).sort()).toEqual([...v1Keys].sort());
    expect(result.moves.every((m) => m.to === currentLayoutKey(m.from))).toBe(true);
    expect(result.records.length).toBeGreaterThan(0);
    expect(result.tables.map((t) => t.id.name).sort()).toEqual([CDC.name, TRADES.name]);
    expect(migrationSummary(result, store.root)).toContain("dry run");
    expect(await snapshotOf(store)).toEqual(snap);
  });

  test("a run interrupted mid-way is finished by the next one", async () => {
    const stopAt = 5;
    const interrupted = migrateLake(store, {
      log,
      catalog: catalog(),
      onProgress: (p) => {
        if (p.step === "files" && p.done === stopAt) throw new Error("killed");
      },
    });
    await expect(interrupted).rejects.toThrow("killed");
    expect((await keysOf(store)).filter((k) => currentLayoutKey(k) !== k).length).toBe(
      v1Keys.length - stopAt,
    );
    expect(await store.exists(LAYOUT_MARKER_KEY)).toBe(false);

    const progress: number[] = [];
    const result = await migrateLake(store, {
      log,
      catalog: catalog(),
      onProgress: (p) => (p.step === "files" ? progress.push(p.done) : undefined),
    });
    expect(result.moves.length).toBe(v1Keys.length - stopAt);
    expect(progress.at(-1)).toBe(v1Keys.length - stopAt);
    expect(result.records.length).toBeGreaterThan(0);
    expect(result.tables.length).toBe(2);
    expect(JSON.parse(await store.readText(LAYOUT_MARKER_KEY))).toEqual({ version: 2 });
  });

  test("every file is at its v2 key and the old directories are gone", async () => {
    const keys = await keysOf(store);
    expect(keys.filter((k) => currentLayoutKey(k) !== k)).toEqual([]);
    for (const k of v1Keys) expect(await store.exists(currentLayoutKey(k))).toBe(true);
    expect(readdirSync(join(store.root, "bronze/kraken_trades/year=2024"))).toEqual(["month=3"]);
    const dirs = readdirSync(store.root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => relative(store.root, join(e.parentPath, e.name)));
    expect(dirs.length).toBeGreaterThan(20);
    expect(dirs.filter((d) => currentLayoutKey(d) !== d)).toEqual([]);
    expect(readdirSync(join(store.root, "gold/candles_1m")).sort()).toEqual(["pair=BTC_USD", "pair=ETH_USD"]);
  });

  test("DuckDB with hive_partitioning reads symbol = 'BTC/USD', integer partitions and every row", async () => {
    for (const d of COUNTED) expect([d, await countOf(d)]).toEqual([d, before.get(d) as number]);
    for (const d of ["bronze/kraken_trades", "silver/kraken_trades"]) {
      const types = new Map(
        (await query(`DESCRIBE SELECT * FROM ${scan(d, true)}`)).map((r) => [r.column_name, r.column_type]),
      );
      expect([d, types.get("month"), types.get("hour"), types.get("pair")]).toEqual([
        d,
        "BIGINT",
        "BIGINT",
        "VARCHAR",
      ]);
    }
    const silver = await query(
      `SELECT DISTINCT symbol, pair, month FROM ${scan("silver/kraken_trades", true)} ORDER BY 1`,
    );
    expect(silver).toEqual([
      { symbol: "BTC/USD", pair: "BTC_USD", month: "3" },
      { symbol: "ETH/USD", pair: "ETH_USD", month: "3" },
    ]);
  });

  test("the commit log names only existing v2 files, partition values included", async () => {
    for (const ds of [TRADES, CDC, { layer: "bronze", name: "kraken_ticker" } as const]) {
      const live = await commitLog.liveFiles(ds);
      expect(live.length).toBeGreaterThan(0);
      for (const f of live) {
        expect([f.path, await store.exists(f.path)]).toEqual([f.path, true]);
        expect(Object.keys(f.partition)).not.toContain("symbol");
        expect(f.partition.month).toBe("3");
      }
    }
  });

  test("the Iceberg tables name exactly the live files and keep their offsets", async () => {
    for (const ds of [TRADES, CDC]) {
      const committer = new BronzeTableCommitter(
        store,
        commitLog,
        catalog(),
        ds,
        ds === CDC ? "cdc" : "kraken",
      );
      const snap = await tableSnapshot(ds);
      expect(snap.summary.operation).toBe("replace");
      expect(snap.summary["tributary.offsets"]).toBe(offsetsBefore[ds.name] as string);
      const files = (await committer.table.files(snap)).map((f) => lakeKeyOf(store, f.path));
      // A compacted file is named by the table's own copy (docs/iceberg.md, "Compaction").
      const live = (await commitLog.liveFiles(ds)).map((f) => committer.tableFileKey(f.path));
      expect(files.sort()).toEqual(live.sort());
      for (const k of files) expect([k, await store.exists(k)]).toEqual([k, true]);
    }
  });

  test("silver and the table committer carry on over the migrated lake", async () => {
    const btc = 0; // the fixture's Kafka partition of BTC/USD
    const offset = await commitLog.resumeOffset(TRADES, "kraken.trades", btc);
    await commitBronze(commitLog, [
      {
        topic: "kraken.trades",
        partition: btc,
        offset: Number(offset),
        key: "BTC/USD",
        value: tradeJson({ trade_id: 9_000_001, ts: "2024-03-04T00:30:00.000000Z" }),
        ingestedAt: BigInt(Date.parse("2024-03-04T00:30:01Z")) * 1000n,
      },
    ]);
    await runSilverTrades(env);
    const hour0 = `silver/kraken_trades/year=2024/month=3/day=4/hour=0/pair=BTC_USD`;
    const rows = await query(
      `SELECT count(*) AS n, count(DISTINCT trade_id) AS ids, count(*) FILTER (WHERE trade_id = 9000001) AS new
       FROM read_parquet(${sqlString(`${store.root}/${hour0}/*.parquet`)})`,
    );
    expect(Number(rows[0]?.new)).toBe(1);
    expect(Number(rows[0]?.n)).toBe(Number(rows[0]?.ids));
    expect(await countOf("silver/kraken_trades")).toBe((before.get("silver/kraken_trades") as number) + 1);
    expect((await keysOf(store)).filter((k) => currentLayoutKey(k) !== k)).toEqual([]);

    const committer = new BronzeTableCommitter(store, commitLog, catalog(), TRADES, "kraken");
    expect((await committer.commit()).records).toBe(1);
    const files = await committer.table.files();
    expect(files.map((f) => lakeKeyOf(store, f.path)).sort()).toEqual(
      (await commitLog.liveFiles(TRADES)).map((f) => committer.tableFileKey(f.path)).sort(),
    );
  });

  test("a second run says the lake is current and changes nothing", async () => {
    const snap = await snapshotOf(store);
    const result = await migrateLake(store, { log, catalog: catalog() });
    expect(result.alreadyCurrent).toBe(true);
    expect(migrationSummary(result, store.root)).toContain("already at layout v2");
    expect(await snapshotOf(store)).toEqual(snap);
  });
});

describe("migrateLake refuses to overwrite", () => {
  test("a different object at a destination stops the run before anything moves, naming both keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lake-migrate-conflict-"));
    try {
      const s = new LocalLakeStore(dir);
      await s.put("gold/candles_1m/symbol=BTC_USD/2024-03-04.parquet", "old");
      await s.put("gold/candles_1m/symbol=ETH_USD/2024-03-04.parquet", "eth");
      await s.put("gold/candles_1m/pair=BTC_USD/2024-03-04.parquet", "new");
      const run = migrateLake(s, { log });
      await expect(run).rejects.toBeInstanceOf(LayoutMigrationError);
      await expect(run).rejects.toThrow(
        "cannot move gold/candles_1m/symbol=BTC_USD/2024-03-04.parquet to gold/candles_1m/pair=BTC_USD/2024-03-04.parquet",
      );
      expect(await s.readText("gold/candles_1m/pair=BTC_USD/2024-03-04.parquet")).toBe("new");
      expect(await s.exists("gold/candles_1m/symbol=ETH_USD/2024-03-04.parquet")).toBe(true);
      expect(await s.exists(LAYOUT_MARKER_KEY)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the same bytes at a destination (an interrupted S3 move) only drop the source", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lake-migrate-copied-"));
    try {
      const s = new LocalLakeStore(dir);
      await s.put("silver/x/year=2024/month=03/day=04/hour=00/symbol=BTC_USD/part-0.parquet", "same");
      await s.put("silver/x/year=2024/month=3/day=4/hour=0/pair=BTC_USD/part-0.parquet", "same");
      const result = await migrateLake(s, { log });
      expect(result.moves.map((m) => m.sourceOnly)).toEqual([true]);
      expect(await keysOf(s)).toEqual([
        "silver/x/year=2024/month=3/day=4/hour=0/pair=BTC_USD/part-0.parquet",
        "_tributary/layout.json",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const scratch = mkdtempSync(join(tmpdir(), "lake-migrate-stores-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

for (const [kind, make] of lakeStoreBackends(loadConfig(), scratch, "lake_migrate")) {
  describe(`migrateLake on ${kind}`, () => {
    test("moves a small v1 lake's files and renames them in its commit log and Iceberg table; a second run is a no-op", async () => {
      const s = make();
      const sLog = new CommitLog(s);
      const trade = (offset: number, symbol: string, ts: string) => ({
        partition: 0,
        offset,
        key: symbol,
        value: tradeJson({ trade_id: offset + 1, symbol, ts }),
        ingestedAt: BigInt(Date.parse(ts)) * 1000n,
      });
      await commitBronze(sLog, [
        trade(0, "BTC/USD", "2024-03-04T07:10:00.000000Z"),
        trade(1, "ETH/USD", "2024-03-04T08:10:00.000000Z"),
      ]);
      await downgradeToV1(s);
      await new BronzeTableCommitter(s, sLog, new EmbeddedCatalog(s), TRADES, "kraken").commit();
      const old = (await keysOf(s)).filter((k) => currentLayoutKey(k) !== k);
      expect(old).toContain(
        "bronze/kraken_trades/year=2024/month=03/day=04/hour=07/symbol=BTC_USD/kraken.trades-0-00000000000000000000-0.parquet",
      );

      const result = await migrateLake(s, { log, catalog: new EmbeddedCatalog(s) });
      expect(result.moves.length).toBe(old.length);
      expect((await keysOf(s)).filter((k) => currentLayoutKey(k) !== k)).toEqual([]);
      const live = (await sLog.liveFiles(TRADES)).map((f) => f.path);
      expect(live).toEqual([
        "bronze/kraken_trades/year=2024/month=3/day=4/hour=7/pair=BTC_USD/kraken.trades-0-00000000000000000000-0.parquet",
        "bronze/kraken_trades/year=2024/month=3/day=4/hour=8/pair=ETH_USD/kraken.trades-0-00000000000000000000-1.parquet",
      ]);
      for (const key of live) expect(await s.exists(key)).toBe(true);
      const committer = new BronzeTableCommitter(s, sLog, new EmbeddedCatalog(s), TRADES, "kraken");
      expect((await committer.table.files()).map((f) => lakeKeyOf(s, f.path)).sort()).toEqual(live);

      const snap = await snapshotOf(s);
      expect((await migrateLake(s, { log, catalog: new EmbeddedCatalog(s) })).alreadyCurrent).toBe(true);
      expect(await snapshotOf(s)).toEqual(snap);
    });
  });
}
