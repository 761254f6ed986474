import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config.ts";
import { lakeStoreBackends } from "../../testing/lake-stores.ts";
import { uniqueName } from "../../testing/names.ts";
import { createLakeStore } from "../store.ts";
import { decodeContainer, encodeContainer } from "./avro.ts";
import { EmbeddedCatalog } from "./catalog.ts";
import { currentSnapshot, snapshotAsOf } from "./metadata.ts";
import { evolveSchema, IcebergSchemaError } from "./schema.ts";
import { IcebergCommitError, IcebergTable, MAX_MANIFESTS, type TableDefinition } from "./table.ts";
import { SAMPLE_TABLE, sampleFile } from "./testing.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "iceberg-table-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const DEF = SAMPLE_TABLE;
const file = sampleFile;

const backends = lakeStoreBackends(config, scratch, "lake");

for (const [kind, make] of backends) {
  describe(`IcebergTable on the embedded catalog (${kind})`, () => {
    test("appends and an overwrite become snapshots whose files and totals a reader plans exactly", async () => {
      const store = make();
      const table = new IcebergTable(
        new EmbeddedCatalog(store),
        store,
        { namespace: "silver", name: "t" },
        DEF,
      );
      const s1 = await table.commit(() => ({
        operation: "append",
        add: [file(store, "a")],
        remove: [],
        summary: { "tributary.run": "1" },
      }));
      const s2 = await table.commit(() => ({ operation: "append", add: [file(store, "b", 5)], remove: [] }));
      const s3 = await table.commit(() => ({
        operation: "overwrite",
        add: [file(store, "c", 20)],
        remove: [store.url("silver/t/a.parquet")],
      }));
      const paths = async (s?: Parameters<IcebergTable["files"]>[0]) =>
        (await table.files(s)).map((f) => f.path).sort();
      expect(await paths()).toEqual([store.url("silver/t/b.parquet"), store.url("silver/t/c.parquet")]);
      expect(await paths(s1)).toEqual([store.url("silver/t/a.parquet")]);
      expect(await paths(s2)).toEqual([store.url("silver/t/a.parquet"), store.url("silver/t/b.parquet")]);
      expect(s1?.summary["tributary.run"]).toBe("1");
      expect(s3?.summary).toMatchObject({
        "total-records": "25",
        "deleted-records": "10",
        "added-records": "20",
        "total-data-files": "2",
      });
      const loaded = await table.load();
      expect(currentSnapshot(loaded?.metadata ?? ({} as never))?.["snapshot-id"]).toBe(
        s3?.["snapshot-id"] as number,
      );
      expect(
        snapshotAsOf(loaded?.metadata ?? ({} as never), s2?.["timestamp-ms"] as number)?.["snapshot-id"],
      ).toBe(s2?.["snapshot-id"] as number);
      expect(await store.readText("_iceberg/silver/t/metadata/version-hint.text")).toBe("4");
    });

    test("two writers racing on the same version both land, each once, after a retry", async () => {
      const store = make();
      const id = { namespace: "bronze", name: uniqueName("race") };
      const a = new IcebergTable(new EmbeddedCatalog(store), store, id, DEF);
      const b = new IcebergTable(new EmbeddedCatalog(store), store, id, DEF);
      await a.loadOrCreate();
      let prepared = 0;
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b).commit(() => {
            prepared += 1;
            return { operation: "append", add: [file(store, `f${i}`)], remove: [] };
          }),
        ),
      );
      const files = (await a.files()).map((f) => f.path).sort();
      expect(files).toEqual(Array.from({ length: 6 }, (_, i) => store.url(`silver/t/f${i}.parquet`)).sort());
      expect(prepared).toBeGreaterThanOrEqual(6);
    });
  });
}

describe("IcebergTable (local)", () => {
  const store = createLakeStore({ lake: { ...config.lake, uri: join(scratch, "local") }, s3: config.s3 });

  test("manifests stay bounded however many appends a writer commits", async () => {
    const table = new IcebergTable(
      new EmbeddedCatalog(store),
      store,
      { namespace: "bronze", name: "many" },
      DEF,
    );
    for (let i = 0; i < 3 * MAX_MANIFESTS; i++) {
      await table.commit(() => ({ operation: "append", add: [file(store, `m${i}`, 1)], remove: [] }));
    }
    const snap = currentSnapshot((await table.loadOrCreate()).metadata);
    expect(snap).toBeDefined();
    expect((await table.manifestList(snap as never)).length).toBeLessThanOrEqual(MAX_MANIFESTS);
    expect((await table.files()).length).toBe(3 * MAX_MANIFESTS);
    expect(snap?.summary["total-records"]).toBe(String(3 * MAX_MANIFESTS));
    const meta = await store.children("_iceberg/bronze/many/metadata/");
    expect(meta.filter((n) => n.endsWith(".metadata.json")).length).toBeLessThanOrEqual(21);
  });

  test("removing a file the table does not hold is refused, naming it", async () => {
    const table = new IcebergTable(
      new EmbeddedCatalog(store),
      store,
      { namespace: "silver", name: "strict" },
      DEF,
    );
    await table.commit(() => ({ operation: "append", add: [file(store, "x")], remove: [] }));
    expect(
      table.commit(() => ({ operation: "overwrite", add: [], remove: [store.url("silver/t/nope.parquet")] })),
    ).rejects.toThrow(IcebergCommitError);
  });

  test("a contract that adds a column evolves the schema, keeping every old field ID", async () => {
    const id = { namespace: "silver", name: "evolving" };
    await new IcebergTable(new EmbeddedCatalog(store), store, id, DEF).commit(() => ({
      operation: "append",
      add: [file(store, "old")],
      remove: [],
    }));
    const wider: TableDefinition = { ...DEF, columns: [...DEF.columns, ["venue", "VARCHAR"]] };
    const table = new IcebergTable(new EmbeddedCatalog(store), store, id, wider);
    await table.commit(() => ({ operation: "append", add: [file(store, "new")], remove: [] }));
    const m = (await table.load())?.metadata;
    const schema = m?.schemas.find((s) => s["schema-id"] === m["current-schema-id"]);
    expect(schema?.fields.map((f) => [f.id, f.name])).toEqual([
      [1, "symbol"],
      [2, "price"],
      [3, "ts"],
      [4, "venue"],
    ]);
    expect(JSON.parse(m?.properties["schema.name-mapping.default"] ?? "[]")).toContainEqual({
      "field-id": 4,
      names: ["venue"],
    });
    expect((await table.files()).length).toBe(2);
    expect(() => evolveSchema([["symbol", "BIGINT"]], schema, 4)).toThrow(IcebergSchemaError);
  });

  test("Avro longs above 2^53 (other engines' snapshot IDs) decode exactly", async () => {
    const schema = { type: "record", name: "r", fields: [{ name: "id", type: "long", "field-id": 1 }] };
    const bytes = encodeContainer(schema, [{ id: 15470203292267725n }], { "format-version": "2" });
    const { records, metadata } = await decodeContainer<{ id: bigint }>(bytes);
    expect(records[0]?.id).toBe(15470203292267725n);
    expect(metadata["format-version"]).toBe("2");
    expect(JSON.parse(metadata["avro.schema"] ?? "{}").fields[0]["field-id"]).toBe(1);
  });
});
