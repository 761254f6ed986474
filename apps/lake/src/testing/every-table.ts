/**
 * Test helper: builds a lake with the real jobs committing through a catalog (market, book, keyed and
 * keyless CDC), commits its bronze tables, and checks every table as an outside engine (Spark,
 * Trino) lists and reads it against DuckDB over the Hive tree: the engine lists exactly the datasets
 * with a table, none stays Hive-only, and each table's `count(*)`, exact DECIMAL sums and maximum
 * timestamps (RFC 3339, µs, Z) are equal, as are its lists' element counts and decimal field sums.
 */
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import type { IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import type { LakeStore } from "@tributary/shared/lake/store";
import { BronzeTableCommitter } from "../bronze/table-commit.ts";
import { openDuckSession } from "../runtime/duckdb.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { commitBronze, sequentialTrades } from "./bronze-fixture.ts";
import { buildLakeFixture, fixtureEnv } from "./lake-fixture.ts";

/** How one engine lists and aggregates tables; every value comes back as the engine's exact text. */
export interface TableEngine {
  readonly name: string;
  /** The tables the engine's catalog lists in `layer`. */
  tables(layer: string): Promise<string[]>;
  /** `count(*)`, then each of `decimals` summed, then each of `times`' maximum as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  aggregate(table: string, decimals: readonly string[], times: readonly string[]): Promise<string[]>;
  /**
   * The element count of list column `column`, then each of its elements' `fields` summed; `struct`
   * names every field of an element in order (empty for a list of plain values).
   */
  elements(
    table: string,
    column: string,
    fields: readonly string[],
    struct: readonly string[],
  ): Promise<string[]>;
}

export interface EveryTable {
  readonly withTables: string[];
  readonly compared: string[];
  readonly nested: string[];
}

const LAYERS = ["bronze", "silver", "gold"] as const;

export async function everyTableAgrees(
  engine: TableEngine,
  lakeRoot: string,
  catalog: IcebergCatalog,
  store: LakeStore,
): Promise<EveryTable> {
  await buildLakeFixture(lakeRoot, {
    hours: 2,
    tradeEverySeconds: 30,
    book: { minutes: 10 },
    catalog,
    keylessCdc: true,
  });
  const log = new CommitLog(store);
  const bronze = readdirSync(join(lakeRoot, "bronze")).sort();
  for (const name of bronze) {
    const kind = name.startsWith("cdc_") ? "cdc" : "kraken";
    await new BronzeTableCommitter(store, log, catalog, { layer: "bronze", name }, kind).commit();
  }

  const listed: string[] = [];
  for (const layer of LAYERS) for (const t of await engine.tables(layer)) listed.push(`${layer}.${t}`);
  const withTables: string[] = [];
  const hiveOnly: string[] = [];
  for (const layer of LAYERS)
    for (const name of readdirSync(join(lakeRoot, layer)).sort())
      ((await catalog.load({ namespace: layer, name })) !== undefined ? withTables : hiveOnly).push(
        `${layer}.${name}`,
      );
  expect(listed.sort()).toEqual(withTables.sort());
  expect(withTables.filter((t) => t.startsWith("bronze.")).length).toBe(bronze.length);
  expect(hiveOnly).toEqual([]);

  using duck = await openDuckSession();
  const text = async (sql: string): Promise<string[]> =>
    Object.values((await duck.rows(sql))[0] ?? {}).map((v) => String(v));
  const compared: string[] = [];
  const nested: string[] = [];
  for (const table of withTables) {
    const [layer, name] = table.split(".") as [string, string];
    const scan = `read_parquet('${lakeRoot}/${layer}/${name}/**/*.parquet', hive_partitioning = false, union_by_name = true)`;
    const columns = (await duck.rows(`DESCRIBE SELECT * FROM ${scan}`)).map((r) => ({
      name: String(r.column_name),
      type: String(r.column_type),
    }));
    const decimals = columns.filter((c) => c.type.startsWith("DECIMAL")).map((c) => c.name);
    const times = columns.filter((c) => c.type === "TIMESTAMP WITH TIME ZONE").map((c) => c.name);
    const expected = await text(
      `SELECT ${["count(*)", ...decimals.map((c) => `sum("${c}")::VARCHAR`), ...times.map((c) => `strftime(max("${c}"), '%Y-%m-%dT%H:%M:%S.%fZ')`)].join(", ")} FROM ${scan}`,
    );
    expect([table, await engine.aggregate(table, decimals, times)]).toEqual([table, expected]);
    if (decimals.length + times.length > 0) compared.push(table);
    for (const c of columns.filter((col) => col.type.endsWith("[]"))) {
      const fields = [...c.type.matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)"? DECIMAL\(\d+,\d+\)/g)].map(
        (m) => m[1] as string,
      );
      const want = await text(
        `SELECT ${["count(*)", ...fields.map((f) => `sum(e."${f}")::VARCHAR`)].join(", ")} FROM (SELECT unnest("${c.name}") AS e FROM ${scan})`,
      );
      const struct = [
        ...(/^STRUCT\((.*)\)\[\]$/.exec(c.type)?.[1] ?? "").matchAll(
          /(?:^|, )"?([A-Za-z_][A-Za-z0-9_]*)"? /g,
        ),
      ].map((m) => m[1] as string);
      expect([table, c.name, await engine.elements(table, c.name, fields, struct)]).toEqual([
        table,
        c.name,
        want,
      ]);
      nested.push(`${table}.${c.name}`);
    }
  }
  console.log(
    `${engine.name}: ${withTables.length} tables agree with DuckDB (${compared.length} with decimal sums or timestamps; lists: ${nested.join(", ")}); Hive-only: ${hiveOnly.join(", ")}`,
  );
  expect(compared.length).toBeGreaterThanOrEqual(10);
  return { withTables, compared, nested };
}

/** A second run of silver trades over 20 more trades on the lake `everyTableAgrees` built. */
export async function secondSilverRun(lakeRoot: string, catalog: IcebergCatalog): Promise<void> {
  const env = { ...fixtureEnv(lakeRoot), catalog };
  await commitBronze(
    env.commitLog,
    sequentialTrades(10_000_001, 20).map((r, i) => ({ ...r, partition: 5, offset: i })),
  );
  await runSilverTrades(env);
}
