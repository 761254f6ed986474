import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { lakeStoreBackends } from "../testing/lake-stores.ts";
import { uniqueName } from "../testing/names.ts";
import { createLakeStore, LakeConflictError, type LakeStore } from "./store.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "lake-store-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function keys(store: LakeStore, prefix: string, startAfter?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix, startAfter === undefined ? {} : { startAfter })) out.push(o.key);
  return out;
}

const backends = lakeStoreBackends(config, scratch, "lake");

for (const [kind, make] of backends) {
  describe(`LakeStore (${kind})`, () => {
    test("put, read, exists, list in key order and delete round-trip", async () => {
      const store = make();
      expect(store.kind).toBe(kind as "local" | "s3");
      await store.put("a/b/2.json", "two");
      await store.put("a/b/1.json", new Uint8Array([0, 1, 255]));
      await store.put("a/c.json", "c");
      expect(await store.readText("a/b/2.json")).toBe("two");
      expect([...(await store.read("a/b/1.json"))]).toEqual([0, 1, 255]);
      expect(await store.exists("a/b/1.json")).toBe(true);
      expect(await store.exists("a/b/3.json")).toBe(false);
      expect(await store.readTextIfExists("a/b/3.json")).toBeUndefined();
      expect(await keys(store, "a/")).toEqual(["a/b/1.json", "a/b/2.json", "a/c.json"]);
      expect(await keys(store, "a/b/")).toEqual(["a/b/1.json", "a/b/2.json"]);
      expect(await keys(store, "a/b/", "a/b/1.json")).toEqual(["a/b/2.json"]);
      expect(await store.children("a/")).toEqual(["b", "c.json"]);
      await store.delete("a/b/1.json");
      await store.delete("a/b/1.json"); // missing is fine
      expect(await keys(store, "a/")).toEqual(["a/b/2.json", "a/c.json"]);
    });

    // Local disk (link(2)) is exclusive even for simultaneous writers. On S3 the guarantee is the
    // server's: AWS S3 and MinIO evaluate If-None-Match atomically, but S3Proxy's filesystem backend
    // checks then writes, so two PUTs in the same instant can both succeed there. Against S3Proxy the
    // test therefore lets one writer finish first and races the others against the existing object.
    test("an exclusive create lets exactly one of several racing writers win", async () => {
      const store = make();
      const first =
        kind === "s3"
          ? await Promise.allSettled([store.put("commits/0001.json", "writer 0", { ifAbsent: true })])
          : [];
      const results = [
        ...first,
        ...(await Promise.allSettled(
          Array.from({ length: 5 - first.length }, (_, i) =>
            store.put("commits/0001.json", `writer ${i + first.length}`, { ifAbsent: true }),
          ),
        )),
      ];
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won.length).toBe(1);
      expect(lost.length).toBe(4);
      for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LakeConflictError);
      expect(await store.readText("commits/0001.json")).toMatch(/^writer \d$/);
    });

    test("putFile uploads a local file whole and move publishes it idempotently", async () => {
      const store = make();
      const local = join(scratch, `${uniqueName("f")}.bin`);
      const payload = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      writeFileSync(local, payload);
      expect(await store.putFile(local, "_tributary/staging/x/part.parquet")).toBe(payload.length);
      await store.move("_tributary/staging/x/part.parquet", "bronze/ds/year=2024/part.parquet");
      expect(await store.exists("_tributary/staging/x/part.parquet")).toBe(false);
      const back = await store.read("bronze/ds/year=2024/part.parquet");
      expect(back.length).toBe(payload.length);
      expect(Buffer.compare(Buffer.from(back), Buffer.from(payload))).toBe(0);
      // Roll-forward repeats a move whose source is gone: it succeeds because the target exists.
      await store.move("_tributary/staging/x/part.parquet", "bronze/ds/year=2024/part.parquet");
      await expect(store.move("_tributary/staging/x/none.parquet", "bronze/ds/none.parquet")).rejects.toThrow(
        /none/,
      );
    });

    test("copy replaces the target whole and keeps the source, which a later write of the target leaves alone", async () => {
      const store = make();
      await store.put("_iceberg/silver/d/data/a/r1.parquet", "run 1");
      await store.put("silver/d/a.parquet", "old");
      await store.copy("_iceberg/silver/d/data/a/r1.parquet", "silver/d/a.parquet");
      expect(await store.readText("silver/d/a.parquet")).toBe("run 1");
      expect(await store.readText("_iceberg/silver/d/data/a/r1.parquet")).toBe("run 1");
      if (kind === "local") {
        // A hard link: the copy costs no bytes.
        const ino = (k: string) => statSync(store.url(k)).ino;
        expect(ino("silver/d/a.parquet")).toBe(ino("_iceberg/silver/d/data/a/r1.parquet"));
      }
      // The target is replaced, never written through: the first source keeps its bytes.
      await store.put("_iceberg/silver/d/data/a/r2.parquet", "run 2");
      await store.copy("_iceberg/silver/d/data/a/r2.parquet", "silver/d/a.parquet");
      await store.put("silver/d/a.parquet", "overwritten in place");
      expect(await store.readText("_iceberg/silver/d/data/a/r1.parquet")).toBe("run 1");
      expect(await store.readText("_iceberg/silver/d/data/a/r2.parquet")).toBe("run 2");
      // A copy into a directory that does not exist yet creates it; nothing temporary is left.
      await store.copy("_iceberg/silver/d/data/a/r2.parquet", "silver/d/new/b.parquet");
      expect(await keys(store, "silver/")).toEqual(["silver/d/a.parquet", "silver/d/new/b.parquet"]);
      await expect(store.copy("_iceberg/none.parquet", "silver/d/c.parquet")).rejects.toThrow(/none/);
      expect(await store.exists("silver/d/c.parquet")).toBe(false);
    });

    test("keys escaping the lake root are refused", () => {
      const store = make();
      expect(() => store.url("../etc/passwd")).toThrow(/invalid lake key/);
      expect(() => store.url("/abs")).toThrow(/invalid lake key/);
    });
  });
}

test("local writes leave no temporary file behind and hide in-flight ones from listings", async () => {
  const root = join(scratch, uniqueName("tmp"));
  const store = createLakeStore({ lake: { ...config.lake, uri: root }, s3: config.s3 });
  await store.put("d/x.json", "1");
  await expect(store.put("d/x.json", "2", { ifAbsent: true })).rejects.toBeInstanceOf(LakeConflictError);
  expect(readdirSync(join(root, "d"))).toEqual(["x.json"]);
  writeFileSync(join(root, "d", ".y.json.tmp-abc"), "partial");
  expect(await keys(store, "d/")).toEqual(["d/x.json"]);
});

test("an S3 lake URI maps keys under its prefix and gives DuckDB s3:// URLs", () => {
  const store = createLakeStore({
    lake: { ...config.lake, uri: "s3://bucket-a/some/prefix" },
    s3: config.s3,
  });
  expect(store.root).toBe("s3://bucket-a/some/prefix");
  expect(store.url("bronze/x.parquet")).toBe("s3://bucket-a/some/prefix/bronze/x.parquet");
});
