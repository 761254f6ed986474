/**
 * `bun run cdc --load-sample`: loads the Tesouro Direto sample into PostgreSQL. Rows go in batches
 * through `unnest` (values as text, cast by PostgreSQL to date and numeric: no float anywhere),
 * upserted on the natural key so a reload changes nothing. Malformed rows are quarantined to a
 * JSONL file with line, column, value and reason, counted, and never stop the load.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type pg from "pg";
import { parseTesouroCsv, type RowProblem, TESOURO_FIELDS, type TesouroRow } from "./csv.ts";
import { createTesouroTable, DEFAULT_TESOURO_TABLE, type TableName, tesouroQualified } from "./ddl.ts";

export const DEFAULT_SAMPLE_FILE = resolve(
  import.meta.dir,
  "../../../../../shared/fixtures/tesouro/PrecoTaxaTesouroDireto.sample.csv",
);

export interface LoadProgress {
  readonly rows: number;
  readonly total: number;
  readonly quarantined: number;
}

export interface LoadOptions {
  readonly client: pg.Client;
  readonly table?: TableName;
  readonly file?: string;
  /** Where rejected rows are written (JSONL); overwritten on each load. */
  readonly quarantineFile: string;
  readonly batchRows?: number;
  readonly onProgress?: (p: LoadProgress) => void;
}

export interface LoadResult {
  readonly file: string;
  readonly table: string;
  readonly rows: number;
  /** Rows whose key was new or whose values changed. */
  readonly written: number;
  readonly quarantined: number;
  readonly quarantineFile: string | null;
  readonly problems: readonly RowProblem[];
}

export function readTesouroFile(file: string): { rows: TesouroRow[]; problems: RowProblem[] } {
  const rows: TesouroRow[] = [];
  const problems: RowProblem[] = [];
  for (const parsed of parseTesouroCsv(readFileSync(file, "utf8"))) {
    if ("row" in parsed) rows.push(parsed.row);
    else problems.push(parsed.problem);
  }
  return { rows, problems };
}

/** Upserts rows on the natural key; returns how many were inserted or changed. */
export async function upsertTesouroRows(
  client: pg.Client,
  table: TableName,
  rows: readonly TesouroRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = TESOURO_FIELDS.map((f) => rows.map((r) => r[f]));
  const res = await client.query(
    `INSERT INTO ${tesouroQualified(table)} AS t (${TESOURO_FIELDS.join(", ")})
     SELECT * FROM unnest($1::text[], $2::date[], $3::date[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[])
     ON CONFLICT (bond_type, maturity_date, base_date) DO UPDATE SET
       buy_rate = excluded.buy_rate, sell_rate = excluded.sell_rate, buy_price = excluded.buy_price,
       sell_price = excluded.sell_price, base_price = excluded.base_price
     WHERE (t.buy_rate, t.sell_rate, t.buy_price, t.sell_price, t.base_price)
       IS DISTINCT FROM (excluded.buy_rate, excluded.sell_rate, excluded.buy_price, excluded.sell_price, excluded.base_price)`,
    columns,
  );
  return res.rowCount ?? 0;
}

export async function loadTesouroSample(opts: LoadOptions): Promise<LoadResult> {
  const table = opts.table ?? DEFAULT_TESOURO_TABLE;
  const file = opts.file ?? DEFAULT_SAMPLE_FILE;
  const batch = opts.batchRows ?? 2000;
  const { rows, problems } = readTesouroFile(file);
  await createTesouroTable(opts.client, table);
  let quarantineFile: string | null = null;
  if (problems.length > 0) {
    mkdirSync(dirname(opts.quarantineFile), { recursive: true });
    writeFileSync(opts.quarantineFile, `${problems.map((p) => JSON.stringify({ file, ...p })).join("\n")}\n`);
    quarantineFile = opts.quarantineFile;
  }
  let written = 0;
  for (let i = 0; i < rows.length; i += batch) {
    written += await upsertTesouroRows(opts.client, table, rows.slice(i, i + batch));
    opts.onProgress?.({
      rows: Math.min(i + batch, rows.length),
      total: rows.length,
      quarantined: problems.length,
    });
  }
  return {
    file,
    table: `${table.schema}.${table.table}`,
    rows: rows.length,
    written,
    quarantined: problems.length,
    quarantineFile,
    problems,
  };
}
