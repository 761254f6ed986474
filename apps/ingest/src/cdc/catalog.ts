/**
 * What the CDC source needs from PostgreSQL's catalog: the publication it manages, its slot, each
 * captured table's primary key and replica identity. A normal (non-replication) connection.
 */
import type { Logger } from "@tributary/shared/log";
import pg from "pg";
import { parseLsn } from "./lsn.ts";
import { quoteIdent, SESSION_OPTIONS } from "./replication-connection.ts";

export interface TableRef {
  readonly schema: string;
  readonly table: string;
}

export const tableName = (t: TableRef): string => `${t.schema}.${t.table}`;
export const qualified = (t: TableRef): string => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

export function parseTableRef(text: string): TableRef {
  const m = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$/.exec(text);
  if (!m) throw new Error(`not a schema.table name: ${JSON.stringify(text)}`);
  return { schema: m[1] as string, table: m[2] as string };
}

export async function openSqlClient(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    options: SESSION_OPTIONS,
  });
  client.on("error", () => undefined); // surfaced by the next query instead of crashing the process
  await client.connect();
  return client;
}

export interface TableInfo extends TableRef {
  readonly oid: number;
  /** Primary-key column names in key order; empty when there is none. */
  readonly primaryKey: readonly string[];
  readonly replicaIdentity: "default" | "nothing" | "full" | "index";
  /** Columns a pgoutput tuple carries (not dropped, not generated), in attribute order. */
  readonly columns: readonly CatalogColumn[];
}

export interface CatalogColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  readonly notNull: boolean;
  /** The literal default as PostgreSQL's text (`'n/a'::text` → `n/a`); null without one or when not a literal. */
  readonly defaultText: string | null;
  /** pg_type.typname (`int4`, `_int4`, an enum's own name). */
  readonly typeName: string;
  /** An enum's labels in sort order; undefined for other types. */
  readonly enumValues?: readonly string[];
}

/** `'n/a'::text` → `n/a`, `42` → `42`, `true` → `t`; an expression that is not a literal → null. */
export function literalDefault(expr: string | null): string | null {
  if (expr === null) return null;
  const quoted = /^'((?:[^']|'')*)'(?:::[A-Za-z0-9_ ."[\]()]+)?$/.exec(expr);
  if (quoted) return (quoted[1] as string).replaceAll("''", "'");
  if (/^\(?-?\d+(\.\d+)?\)?(::[a-z0-9_ ]+)?$/.test(expr))
    return expr.replace(/::.*$/, "").replace(/[()]/g, "");
  if (expr === "true" || expr === "false") return expr[0] as string;
  return null;
}

/** Columns of a relation as a pgoutput tuple carries them, with nullability and literal defaults. */
export async function catalogColumns(client: pg.Client, relationOid: number): Promise<CatalogColumn[]> {
  const cols = await client.query<{
    name: string;
    type_oid: number;
    type_mod: number;
    not_null: boolean;
    def: string | null;
    type_name: string;
    enum_values: string[] | null;
  }>(
    `SELECT a.attname AS name, a.atttypid::int AS type_oid, a.atttypmod AS type_mod, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS def, t.typname::text AS type_name,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS enum_values
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
    [relationOid],
  );
  return cols.rows.map((c) => ({
    name: c.name,
    typeOid: c.type_oid,
    typeMod: c.type_mod,
    notNull: c.not_null,
    defaultText: literalDefault(c.def),
    typeName: c.type_name,
    ...(c.enum_values ? { enumValues: c.enum_values } : {}),
  }));
}

const IDENTITY = { d: "default", n: "nothing", f: "full", i: "index" } as const;

export async function tableInfo(client: pg.Client, ref: TableRef): Promise<TableInfo | null> {
  const rel = await client.query<{ oid: number; relreplident: keyof typeof IDENTITY }>(
    `SELECT c.oid::int AS oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [ref.schema, ref.table],
  );
  const row = rel.rows[0];
  if (!row) return null;
  return {
    ...ref,
    oid: row.oid,
    primaryKey: await primaryKeyOf(client, row.oid),
    replicaIdentity: IDENTITY[row.relreplident],
    columns: await catalogColumns(client, row.oid),
  };
}

export async function primaryKeyOf(client: pg.Client, relationOid: number): Promise<string[]> {
  const res = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = $1 AND i.indisprimary
     ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [relationOid],
  );
  return res.rows.map((r) => r.attname);
}

/** The warning for a table whose changes cannot be keyed, with the statement that fixes it. */
export function keylessWarning(t: TableInfo): string | null {
  if (t.primaryKey.length > 0) return null;
  const name = qualified(t);
  if (t.replicaIdentity === "full") {
    return `table ${tableName(t)} has no primary key: its events carry the whole old row but a null Kafka key, so silver cannot merge them by key. Fix: ALTER TABLE ${name} ADD PRIMARY KEY (<columns>);`;
  }
  if (t.replicaIdentity === "index") return null;
  return `table ${tableName(t)} has no primary key and REPLICA IDENTITY ${t.replicaIdentity.toUpperCase()}: only inserts can be captured (PostgreSQL rejects UPDATE and DELETE on it while it is published) and its key is null. Fix: ALTER TABLE ${name} ADD PRIMARY KEY (<columns>); or, if it has no natural key, ALTER TABLE ${name} REPLICA IDENTITY FULL;`;
}

/** Creates the publication for exactly these tables, or adds the ones it lacks. Returns the tables added. */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: readonly TableRef[],
  log: Logger,
): Promise<TableRef[]> {
  const exists = await client.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [publication]);
  if (exists.rows.length === 0) {
    await client.query(
      `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${tables.map(qualified).join(", ")}`,
    );
    log.info("created publication", { publication, tables: tables.map(tableName) });
    return [...tables];
  }
  const current = await client.query<{ schemaname: string; tablename: string }>(
    "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
    [publication],
  );
  const have = new Set(current.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const missing = tables.filter((t) => !have.has(tableName(t)));
  if (missing.length > 0) {
    await client.query(
      `ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${missing.map(qualified).join(", ")}`,
    );
    log.warn("added tables to an existing publication", { publication, tables: missing.map(tableName) });
  }
  return missing;
}

export interface SlotInfo {
  readonly plugin: string | null;
  readonly database: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: bigint | null;
}

export async function slotInfo(client: pg.Client, slot: string): Promise<SlotInfo | null> {
  const res = await client.query<{
    plugin: string | null;
    database: string | null;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
  }>(
    "SELECT plugin, database, active, active_pid, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
  const r = res.rows[0];
  if (!r) return null;
  return {
    plugin: r.plugin,
    database: r.database,
    active: r.active,
    activePid: r.active_pid,
    confirmedFlushLsn: r.confirmed_flush_lsn ? parseLsn(r.confirmed_flush_lsn) : null,
  };
}

/** Drops the slot if it exists; a slot still held by a dead consumer's walsender is waited for (bounded). */
export async function dropSlot(client: pg.Client, slot: string, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await slotInfo(client, slot);
    if (!info) return false;
    if (!info.active) {
      await client.query("SELECT pg_drop_replication_slot($1)", [slot]);
      return true;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `replication slot ${slot} is still in use by backend ${info.activePid} after ${timeoutMs} ms`,
      );
    }
    await Bun.sleep(200);
  }
}

export async function currentDatabase(client: pg.Client): Promise<string> {
  const res = await client.query<{ db: string }>("SELECT current_database() AS db");
  return (res.rows[0] as { db: string }).db;
}

export async function serverWalLsn(client: pg.Client): Promise<bigint> {
  const res = await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  return parseLsn((res.rows[0] as { lsn: string }).lsn);
}
