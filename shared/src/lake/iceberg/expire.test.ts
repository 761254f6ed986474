import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config.ts";
import { lakeStoreBackends } from "../../testing/lake-stores.ts";
import type { LakeStore } from "../store.ts";
import { EmbeddedCatalog, lakeKeyOf } from "./catalog.ts";
import { expireSnapshots } from "./expire.ts";
import type { DataFile } from "./manifest.ts";
import { currentSnapshot, type Snapshot, SnapshotNotFoundError, snapshotById } from "./metadata.ts";
import { removeOrphanFiles } from "./orphans.ts";
import { IcebergTable } from "./table.ts";
import { SAMPLE_HOUR, SAMPLE_TABLE } from "./testing.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "iceberg-expire-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ID = { namespace: "silver", name: "t" };
const DATA = "_iceberg/silver/t/data";

/** A data file the table owns (`<table>/data/<name>.parquet`), written so its deletion shows. */
async function dataFile(store: LakeStore, name: string, rows: number): Promise<DataFile> {
  const key = `${DATA}/${name}.parquet`;
  await store.put(key, `rows ${rows}`);
  return { path: store.url(key), partition: [SAMPLE_HOUR, "BTC/USD"], recordCount: rows, fileSizeBytes: 8 };
}

async function keys(store: LakeStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

async function metadataFigures(store: LakeStore, table: IcebergTable) {
  const loaded = await table.load();
  const metadataKey = lakeKeyOf(store, loaded?.metadataLocation ?? "");
  const meta = await keys(store, "_iceberg/silver/t/metadata/");
  return {
    metadataBytes: (await store.read(metadataKey)).length,
    snapshots: loaded?.metadata.snapshots?.length ?? 0,
    manifestLists: meta.filter((k) => /\/snap-[^/]+\.avro$/.test(k)).length,
    manifests: meta.filter((k) => /-m\d+\.avro$/.test(k)).length,
  };
}

for (const [kind, make] of lakeStoreBackends(config, scratch, "lake")) {
  // 500 commits on disk; on S3 each commit reads its version back (150 ms), so fewer.
  const rounds = kind === "local" ? 500 : 100;
  const keep = 10;

  describe(`snapshot expiry and orphan removal (${kind})`, () => {
    test(`${rounds} commits with expiry keeping ${keep}: metadata, manifest lists and snapshots stay bounded, every row still reads`, async () => {
      const store = make();
      const table = new IcebergTable(new EmbeddedCatalog(store), store, ID, SAMPLE_TABLE);
      // A file outside the table's location (like bronze's Hive files): expiry never deletes it.
      const outside: DataFile = {
        path: store.url("silver/t/hive.parquet"),
        partition: [SAMPLE_HOUR, "BTC/USD"],
        recordCount: 1,
        fileSizeBytes: 4,
      };
      await store.put("silver/t/hive.parquet", "hive");
      await table.commit(() => ({ operation: "append", add: [outside], remove: [] }));
      const live = new Map<string, number>([[outside.path, 1]]);
      const removed: string[] = [];
      const snapshots: Snapshot[] = [];
      const figures: Array<ReturnType<typeof metadataFigures> extends Promise<infer T> ? T : never> = [];
      let expiryMs = 0;
      for (let i = 1; i <= rounds; i++) {
        const add = await dataFile(store, `d${i}`, i % 7);
        // Every fifth commit is an overwrite that removes the file of five commits ago (and once, the outside one).
        const gone =
          i % 5 === 0 && i > 5
            ? i === 50
              ? outside.path
              : store.url(`${DATA}/d${i - 5}.parquet`)
            : undefined;
        const s = await table.commit(() => ({
          operation: gone === undefined ? "append" : "overwrite",
          add: [add],
          remove: gone === undefined ? [] : [gone],
        }));
        snapshots.push(s as Snapshot);
        live.set(add.path, add.recordCount);
        if (gone !== undefined) {
          live.delete(gone);
          removed.push(gone);
        }
        if (i % 50 === 0) {
          const before = await metadataFigures(store, table);
          const t0 = performance.now();
          const r = await expireSnapshots(table, { maxAgeMs: 0, minKeep: keep });
          expiryMs = performance.now() - t0;
          expect(r.snapshotsKept).toBe(keep);
          figures.push(before, await metadataFigures(store, table));
        }
      }
      const after = figures.filter((_, n) => n % 2 === 1);
      const before = figures.filter((_, n) => n % 2 === 0);
      console.log(
        JSON.stringify({
          kind,
          rounds,
          keep,
          expiryMs: Math.round(expiryMs),
          before: before.at(-1),
          after: after.at(-1),
          firstAfter: after[0],
        }),
      );
      for (const f of after) {
        expect(f.snapshots).toBe(keep);
        expect(f.manifestLists).toBe(keep);
        expect(f.manifests).toBeLessThanOrEqual(keep * 2 + 16);
        // Bounded: the last expiry leaves no more metadata than the first did (small slack for IDs' digits).
        expect(f.metadataBytes).toBeLessThanOrEqual((after[0]?.metadataBytes ?? 0) * 1.1);
      }
      // The current snapshot still reads every live row, and every file it names is in place.
      const current = await table.files();
      expect(new Map(current.map((f) => [f.path, f.recordCount]))).toEqual(live);
      for (const f of current) expect(await store.exists(lakeKeyOf(store, f.path))).toBe(true);
      // Data files only expired snapshots held are gone from the table's data/; the outside file stays.
      const dataLeft = new Set((await keys(store, `${DATA}/`)).map((k) => store.url(k)));
      const expectedData = new Set([...live.keys()].filter((p) => p !== outside.path));
      const loaded = await table.load();
      for (const s of loaded?.metadata.snapshots ?? [])
        for (const f of await table.files(s)) if (f.path.includes(`/${DATA}/`)) expectedData.add(f.path);
      expect(dataLeft).toEqual(expectedData);
      expect(removed.some((p) => dataLeft.has(p) && !expectedData.has(p))).toBe(false);
      expect(await store.exists("silver/t/hive.parquet")).toBe(true);
      // Time travel: a kept snapshot reads; an expired one is refused with an error that says so.
      const m = loaded?.metadata ?? ({} as never);
      const kept = snapshots.at(-keep) as Snapshot;
      const travelled = await table.files(snapshotById(m, kept["snapshot-id"]));
      expect(travelled.length).toBeGreaterThan(0);
      for (const f of travelled) expect(await store.exists(lakeKeyOf(store, f.path))).toBe(true);
      const expired = snapshots[0] as Snapshot;
      expect(() => snapshotById(m, expired["snapshot-id"])).toThrow(SnapshotNotFoundError);
      expect(() => snapshotById(m, expired["snapshot-id"])).toThrow(/expired by snapshot retention/);
      expect(currentSnapshot(m)?.["snapshot-id"]).toBe(snapshots.at(-1)?.["snapshot-id"] as number);
    }, 300_000);

    test("a replace that expires the snapshots holding its removed files keeps the older ones", async () => {
      const store = make();
      const table = new IcebergTable(new EmbeddedCatalog(store), store, ID, SAMPLE_TABLE);
      const a = await table.commit(async () => ({
        operation: "append",
        add: [await dataFile(store, "a", 1)],
        remove: [],
      }));
      const b = await table.commit(async () => ({
        operation: "append",
        add: [await dataFile(store, "b", 2)],
        remove: [],
      }));
      const c = await table.commit(async () => ({
        operation: "append",
        add: [await dataFile(store, "c", 3)],
        remove: [],
      }));
      const r = await table.commit(async () => ({
        operation: "replace",
        add: [await dataFile(store, "bc", 5)],
        remove: [store.url(`${DATA}/b.parquet`), store.url(`${DATA}/c.parquet`)],
        expireRemoved: true,
      }));
      const ids = (await table.load())?.metadata.snapshots?.map((s) => s["snapshot-id"]);
      expect(ids).toEqual([a?.["snapshot-id"] as number, r?.["snapshot-id"] as number]);
      expect(b).toBeDefined();
      expect(c).toBeDefined();
      expect((await table.files()).reduce((n, f) => n + f.recordCount, 0)).toBe(6);
    }, 60_000);

    test("orphan removal deletes files no metadata names once they stayed orphans for the safety age", async () => {
      const store = make();
      const table = new IcebergTable(new EmbeddedCatalog(store), store, ID, SAMPLE_TABLE);
      for (const n of ["a", "b"]) {
        const f = await dataFile(store, n, 1);
        await table.commit(() => ({ operation: "append", add: [f], remove: [] }));
      }
      await store.put("_iceberg/silver/t/metadata/dead-m0.avro", "left by a commit that died");
      await store.put(`${DATA}/dead.parquet`, "copied by a run that died");
      const hour = 3_600_000;
      const now = Date.now();
      expect(await removeOrphanFiles(table, { minAgeMs: hour }, now)).toEqual({ orphans: 2, deleted: 0 });
      expect(await removeOrphanFiles(table, { minAgeMs: hour }, now + hour / 2)).toEqual({
        orphans: 2,
        deleted: 0,
      });
      expect(await removeOrphanFiles(table, { minAgeMs: hour }, now + hour)).toEqual({
        orphans: 2,
        deleted: 2,
      });
      expect(await store.exists("_iceberg/silver/t/metadata/dead-m0.avro")).toBe(false);
      expect(await store.exists(`${DATA}/dead.parquet`)).toBe(false);
      expect(await removeOrphanFiles(table, { minAgeMs: hour }, now + 2 * hour)).toEqual({
        orphans: 0,
        deleted: 0,
      });
      expect((await table.files()).length).toBe(2);
      for (const f of await table.files()) expect(await store.exists(lakeKeyOf(store, f.path))).toBe(true);
    }, 60_000);
  });
}
