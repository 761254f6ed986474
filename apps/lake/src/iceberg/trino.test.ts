/**
 * Trino (server 476 from Maven Central, its Iceberg connector) reads every table of a lake the real
 * jobs committed through Iceberg's REST catalog (the stack's service, started privately) and agrees
 * with DuckDB over the Hive tree on counts, exact decimal sums, microsecond timestamps and list
 * elements; `FOR VERSION AS OF` gives an earlier snapshot's rows. A second engine beside Spark
 * (spark.test.ts), with its own Iceberg and Parquet readers.
 *
 * Trino's distribution is 820 MB and needs Java 24+, so this file runs in `bun run test:soak`
 * (TRIBUTARY_SOAK=1) or with TRIBUTARY_TRINO=1, not in every commit's suite.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { createLakeStore } from "@tributary/shared/lake/store";
import { privateRestCatalog } from "@tributary/stack/testing/private-rest";
import { TrinoServer } from "@tributary/stack/testing/trino";
import { everyTableAgrees, secondSilverRun, type TableEngine } from "../testing/every-table.ts";

const RUN = process.env.TRIBUTARY_SOAK === "1" || process.env.TRIBUTARY_TRINO === "1";

const root = mkdtempSync(join(tmpdir(), "iceberg-trino-"));
const lakeRoot = join(root, "lake");
const rest = privateRestCatalog(lakeRoot, root);
const { config } = rest;
let trino: TrinoServer | undefined;

beforeAll(async () => {
  if (!RUN) return;
  mkdirSync(lakeRoot, { recursive: true });
  [trino] = await Promise.all([
    TrinoServer.start({
      stateDir: config.stateDir,
      catalogs: {
        rest: {
          "connector.name": "iceberg",
          "iceberg.catalog.type": "rest",
          "iceberg.rest-catalog.uri": rest.url,
          "iceberg.rest-catalog.warehouse": config.iceberg.restWarehouse,
          "iceberg.rest-catalog.security": "OAUTH2",
          "iceberg.rest-catalog.oauth2.token": rest.token,
          // The lake's local data files are plain absolute paths, which Trino's Hadoop file system reads.
          "fs.hadoop.enabled": "true",
        },
      },
    }),
    rest.start(),
  ]);
}, 900_000);

afterAll(async () => {
  await trino?.[Symbol.asyncDispose]();
  if (RUN) await rest.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Trino's `rest` catalog as an engine of the every-table comparison. */
function trinoEngine(server: TrinoServer): TableEngine {
  const first = async (sql: string) => ((await server.sql(sql))[0] ?? []).map(String);
  const q = (name: string) => `"${name}"`;
  return {
    name: "Trino (rest catalog)",
    tables: async (layer) => (await server.sql(`SHOW TABLES FROM rest.${layer}`)).map((r) => String(r[0])),
    aggregate: (table, decimals, times) =>
      first(
        `SELECT ${["count(*)", ...decimals.map((c) => `CAST(sum(${q(c)}) AS varchar)`), ...times.map((c) => `to_iso8601(max(${q(c)}))`)].join(", ")} FROM rest.${table}`,
      ),
    elements: (table, column, fields, struct) =>
      first(
        `SELECT ${["count(*)", ...fields.map((f) => `CAST(sum(u.${q(f)}) AS varchar)`)].join(", ")} FROM rest.${table} CROSS JOIN UNNEST(${q(column)}) AS u(${(struct.length > 0 ? struct : ["value"]).map(q).join(", ")})`,
      ),
  };
}

describe.if(RUN)("Trino reads every table of a lake the jobs committed through the REST catalog", () => {
  test("bronze, silver and gold: rows, exact decimal sums, µs timestamps and lists equal DuckDB's; FOR VERSION AS OF gives run 1", async () => {
    const server = trino as TrinoServer;
    const store = createLakeStore(config);
    const catalog = openCatalog(config, store);
    expect(catalog.kind).toBe("rest");
    await everyTableAgrees(trinoEngine(server), lakeRoot, catalog, store);

    // A second silver run: Trino sees it, and run 1 by snapshot id.
    const count = async (suffix = "") =>
      String((await server.sql(`SELECT count(*) FROM rest.silver.kraken_trades${suffix}`))[0]?.[0]);
    const before = await count();
    const [first] = (await server.sql(
      'SELECT CAST(snapshot_id AS varchar) FROM rest.silver."kraken_trades$snapshots" ORDER BY committed_at DESC LIMIT 1',
    )) as [[string]];
    await secondSilverRun(lakeRoot, catalog);
    expect(await count()).toBe(String(Number(before) + 20));
    expect(await count(` FOR VERSION AS OF ${first[0]}`)).toBe(before);
  }, 600_000);
});
