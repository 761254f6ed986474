import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { expireSnapshots } from "@tributary/shared/lake/iceberg/expire";
import { currentSnapshot } from "@tributary/shared/lake/iceberg/metadata";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { IcebergRestError, RestCatalog } from "@tributary/shared/lake/iceberg/rest-catalog";
import { IcebergTable } from "@tributary/shared/lake/iceberg/table";
import { SAMPLE_TABLE, sampleFile } from "@tributary/shared/lake/iceberg/testing";
import type { LakeStore } from "@tributary/shared/lake/store";
import { freePort } from "@tributary/shared/net/ports";
import { lakeStoreBackends } from "@tributary/shared/testing/lake-stores";
import { icebergRestService, icebergRestUrl } from "./iceberg-rest.ts";

// The optional `iceberg-rest` service exactly as `bun run stack up iceberg-rest` starts it, in a
// private state dir on a free port, with a token: one JVM for the file. Tables are committed through
// it by the library's REST client, on local disk and on the stack's S3.
const stateDir = mkdtempSync(join(tmpdir(), "tributary-iceberg-rest-"));
const token = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
const config = loadConfig({
  ...process.env,
  STACK_ICEBERG_REST_PORT: String(freePort()),
  ICEBERG_REST_TOKEN: token,
});
const ctx = { config, dir: join(stateDir, "iceberg-rest"), say: () => undefined };
const rest = { ...config.iceberg, restUri: icebergRestUrl(config) };

beforeAll(async () => {
  await icebergRestService.start(ctx);
}, 180_000);

afterAll(async () => {
  await icebergRestService.stop(ctx);
  rmSync(stateDir, { recursive: true, force: true });
});

const DEF = SAMPLE_TABLE;
const file = sampleFile;
const paths = async (table: IcebergTable) => (await table.files()).map((f) => f.path).sort();

describe("the stack's Iceberg REST catalog", () => {
  test("listens on 127.0.0.1 only and refuses a request without the token, naming ICEBERG_REST_TOKEN", async () => {
    const port = config.stack.icebergRestPort.toString(16).toUpperCase().padStart(4, "0");
    const listening = ["/proc/net/tcp", "/proc/net/tcp6"]
      .flatMap((f) => readFileSync(f, "utf8").split("\n").slice(1))
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c[1]?.endsWith(`:${port}`) && c[3] === "0A")
      .map((c) => c[1]?.split(":")[0]);
    expect(listening.length).toBeGreaterThan(0);
    // 127.0.0.1 as IPv4 or IPv4-mapped IPv6, in /proc's little-endian hex.
    for (const a of listening)
      expect(["0100007F", "0000000000000000FFFF00000100007F"]).toContain(a as string);

    const [, make] = lakeStoreBackends(config, stateDir)[0] as [string, () => LakeStore];
    const store = make();
    const wrong = new RestCatalog(store, { uri: rest.restUri, warehouse: "w", token: "nope" });
    const err = await wrong.load({ namespace: "silver", name: "t" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IcebergRestError);
    expect(String(err)).toMatch(/HTTP 401.*ICEBERG_REST_TOKEN/);
  }, 30_000);
});

for (const [kind, make] of lakeStoreBackends(config, stateDir)) {
  describe(`tables committed through the REST catalog (${kind})`, () => {
    test("create, appends and an overwrite: a new client plans the same files, and the metadata is in the lake", async () => {
      const store = make();
      const catalog = openCatalog({ iceberg: rest }, store);
      expect(catalog.kind).toBe("rest");
      const id = { namespace: "silver", name: `t_${kind}_${Date.now().toString(36)}` };
      const table = new IcebergTable(catalog, store, id, DEF);
      const s1 = await table.commit(() => ({ operation: "append", add: [file(store, "a")], remove: [] }));
      await table.commit(() => ({ operation: "append", add: [file(store, "b", 5)], remove: [] }));
      await table.commit(() => ({
        operation: "overwrite",
        add: [file(store, "c", 20)],
        remove: [store.url("silver/t/a.parquet")],
        summary: { "tributary.run": "3" },
      }));
      const again = new IcebergTable(openCatalog({ iceberg: rest }, store), store, id, DEF);
      expect(await paths(again)).toEqual([store.url("silver/t/b.parquet"), store.url("silver/t/c.parquet")]);
      expect((await again.files(s1)).map((f) => f.path)).toEqual([store.url("silver/t/a.parquet")]);
      const loaded = await again.load();
      const current = currentSnapshot(loaded?.metadata ?? ({} as never));
      expect(current?.summary).toMatchObject({ "tributary.run": "3", "total-records": "25" });
      // The server wrote its metadata file at the table's location in the lake.
      expect(loaded?.metadataLocation.startsWith(catalog.tableLocation(id))).toBe(true);
      expect(loaded?.metadata.properties["schema.name-mapping.default"]).toContain('"names":["price"]');
    }, 60_000);

    test("a replace that expires the snapshots holding its removed files, then snapshot expiry, commit through REST", async () => {
      const store = make();
      const catalog = openCatalog({ iceberg: rest }, store);
      const id = { namespace: "silver", name: `x_${kind}_${Date.now().toString(36)}` };
      const table = new IcebergTable(catalog, store, id, DEF);
      const a = await table.commit(() => ({ operation: "append", add: [file(store, "a")], remove: [] }));
      await table.commit(() => ({ operation: "append", add: [file(store, "b")], remove: [] }));
      const r = await table.commit(() => ({
        operation: "replace",
        add: [file(store, "b2")],
        remove: [store.url("silver/t/b.parquet")],
        expireRemoved: true,
      }));
      const ids = async () =>
        (
          (await new IcebergTable(openCatalog({ iceberg: rest }, store), store, id, DEF).load())?.metadata
            .snapshots ?? []
        ).map((s) => s["snapshot-id"]);
      expect(await ids()).toEqual([a?.["snapshot-id"], r?.["snapshot-id"]] as number[]);
      const expired = await expireSnapshots(table, { maxAgeMs: 0, minKeep: 1 });
      expect(expired).toMatchObject({ snapshotsExpired: 1, snapshotsKept: 1, manifestListsDeleted: 1 });
      expect(await ids()).toEqual([r?.["snapshot-id"] as number]);
      expect(await paths(table)).toEqual([store.url("silver/t/a.parquet"), store.url("silver/t/b2.parquet")]);
    }, 60_000);

    test("racing committers: every commit lands once (conflicts retried on the new state)", async () => {
      const store = make();
      const id = { namespace: "bronze", name: `race_${kind}_${Date.now().toString(36)}` };
      const tables = [0, 1, 2, 3].map(
        () => new IcebergTable(openCatalog({ iceberg: rest }, store), store, id, DEF),
      );
      await tables[0]?.loadOrCreate();
      await Promise.all(
        tables.map((t, i) =>
          t.commit(() => ({ operation: "append", add: [file(store, `r${i}`, i + 1)], remove: [] })),
        ),
      );
      expect(await paths(tables[0] as IcebergTable)).toEqual(
        [0, 1, 2, 3].map((i) => store.url(`silver/t/r${i}.parquet`)),
      );
      const snap = currentSnapshot((await tables[0]?.load())?.metadata ?? ({} as never));
      expect(snap?.summary["total-records"]).toBe("10");
    }, 60_000);

    test("a table the embedded catalog holds is registered with its history, then committed through REST", async () => {
      const store = make();
      const id = { namespace: "gold", name: `reg_${kind}_${Date.now().toString(36)}` };
      const embedded = new IcebergTable(new EmbeddedCatalog(store), store, id, DEF);
      const old = await embedded.commit(() => ({ operation: "append", add: [file(store, "e")], remove: [] }));
      const viaRest = new IcebergTable(openCatalog({ iceberg: rest }, store), store, id, DEF);
      await viaRest.commit(() => ({ operation: "append", add: [file(store, "f")], remove: [] }));
      const m = (await viaRest.load())?.metadata;
      expect(m?.snapshots?.map((s) => s["snapshot-id"])).toContain(old?.["snapshot-id"] as number);
      expect(await paths(viaRest)).toEqual([
        store.url("silver/t/e.parquet"),
        store.url("silver/t/f.parquet"),
      ]);
    }, 60_000);
  });
}
