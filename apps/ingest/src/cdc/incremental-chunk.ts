/**
 * The incremental snapshot's reads: one chunk of a table in primary-key order, after the last key
 * read and up to the key that was largest when the table's snapshot began (Debezium's chunk query,
 * with a row-value comparison so composite keys page correctly). Values are PostgreSQL's text, as
 * pgoutput sends them, so a key read here compares equal to the same key seen in the stream.
 */
import type pg from "pg";
import { qualified, type TableInfo } from "./catalog.ts";
import type { Tuple } from "./pgoutput.ts";
import { quoteIdent } from "./replication-connection.ts";

/** Every value as PostgreSQL's text output (see snapshot.ts). */
const RAW_TEXT = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

const keyList = (t: TableInfo): string => t.primaryKey.map(quoteIdent).join(", ");
const params = (from: number, n: number): string =>
  Array.from({ length: n }, (_, i) => `$${from + i}`).join(", ");

export const maxKeySql = (t: TableInfo): string =>
  `SELECT ${keyList(t)} FROM ${qualified(t)} ORDER BY ${t.primaryKey.map((k) => `${quoteIdent(k)} DESC`).join(", ")} LIMIT 1`;

export const chunkSql = (t: TableInfo, afterKey: boolean, limit: number): string => {
  const n = t.primaryKey.length;
  const lower = afterKey ? `(${keyList(t)}) > (${params(1, n)}) AND ` : "";
  const upper = `(${keyList(t)}) <= (${params(afterKey ? n + 1 : 1, n)})`;
  const cols = t.columns.map((c) => quoteIdent(c.name)).join(", ");
  return `SELECT ${cols} FROM ${qualified(t)} WHERE ${lower}${upper} ORDER BY ${keyList(t)} LIMIT ${limit}`;
};

/** The table's largest key now (its columns' text), or null when the table is empty. */
export async function readMaxKey(client: pg.Client, t: TableInfo): Promise<string[] | null> {
  const res = await client.query({ text: maxKeySql(t), rowMode: "array", types: RAW_TEXT });
  return (res.rows[0] as string[] | undefined) ?? null;
}

/** The planner's row estimate; a count when the table was never analyzed. */
export async function estimateRows(client: pg.Client, t: TableInfo): Promise<number> {
  const res = await client.query<{ n: string }>(
    "SELECT reltuples::bigint::text AS n FROM pg_class WHERE oid = $1",
    [t.oid],
  );
  const n = Number(res.rows[0]?.n ?? -1);
  if (n >= 0) return n;
  const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(t)}`);
  return Number(count.rows[0]?.n ?? 0);
}

/** Up to `limit` rows with keys above `after` (none: from the start) and at most `upTo`, in key order. */
export async function readChunkRows(
  client: pg.Client,
  t: TableInfo,
  after: readonly string[] | null,
  upTo: readonly string[],
  limit: number,
): Promise<Tuple[]> {
  const res = await client.query({
    text: chunkSql(t, after !== null, limit),
    values: [...(after ?? []), ...upTo],
    rowMode: "array",
    types: RAW_TEXT,
  });
  return res.rows as Tuple[];
}

/** A row's key columns as text, in key order. */
export function keyValues(t: TableInfo, row: Tuple): string[] {
  return t.primaryKey.map((k) => {
    const v = row[t.columns.findIndex((c) => c.name === k)];
    if (typeof v !== "string") throw new Error(`key column ${k} of ${qualified(t)} is null`);
    return v;
  });
}
