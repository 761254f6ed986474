/**
 * SQL of primary-key changes in keyed CDC silver (DuckDB). PostgreSQL logs an update that changes a
 * row's key as one WAL record; the envelope (as Debezium's) makes it a delete of the old key and a
 * create of the new one, both at that record's LSN, and a TOASTed value the update left alone is a
 * placeholder in the create. Its value is the old key's last one: found through the delete at the
 * same position, in the batch, in the stored state (a deleted key keeps its last row) or in the
 * departed rows (deleted keys used again later). A create whose delete has not arrived yet is held
 * back with its key's later events (`cdc_pending`) for the next run.
 */
import { sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { ident } from "./replay.sql.ts";
import type { CdcColumn } from "./tables.ts";

const col = (c: CdcColumn): string => ident(`c_${c.name}`);
const fill = (c: CdcColumn): string => ident(`m_${c.name}`);
const flags = (columns: readonly CdcColumn[], t: string): string =>
  columns.length === 0 ? "false" : columns.map((c) => `${t}.${ident(`u_${c.name}`)}`).join(" OR ");

/**
 * `cdc_moves`: each create that carries a placeholder (only the new key of a key change does) with
 * its delete at the same position: `d_ord` in `cdc_live`, `d_stored` when that is the old key's
 * stored state (the delete itself was folded by an earlier run); `d_ord` null when not in the batch.
 */
export function createMovesSql(columns: readonly CdcColumn[]): string {
  return `CREATE OR REPLACE TEMP TABLE cdc_moves AS
SELECT c.ord AS c_ord, c.k AS new_k, c.commit_lsn, c.lsn, d.ord AS d_ord, d.k AS old_k,
  coalesce(d.pseudo, false) AS d_stored
FROM cdc_live c
LEFT JOIN cdc_live d ON d.op = 'd' AND d.commit_lsn = c.commit_lsn AND d.lsn = c.lsn AND d.k <> c.k
WHERE c.op = 'c' AND NOT c.pseudo AND (${flags(columns, "c")})
QUALIFY row_number() OVER (PARTITION BY c.ord ORDER BY d.pseudo, d.ord) = 1`;
}

/**
 * `cdc_departed`: the old key's last row for the moves whose delete is not in the batch, from the
 * state and departed `files` (a deleted key's row there is its last one, at the delete's position).
 */
export function createDepartedSql(columns: readonly CdcColumn[], files: readonly string[]): string {
  const typed = columns.map((c) => `${col(c)} ${c.type}`).join(", ");
  if (files.length === 0)
    return `CREATE OR REPLACE TEMP TABLE cdc_departed (commit_lsn UBIGINT, lsn UBIGINT, k VARCHAR, ${typed})`;
  return `CREATE OR REPLACE TEMP TABLE cdc_departed AS
SELECT p_commit AS commit_lsn, p_lsn AS lsn, k, ${columns.map(col).join(", ")}
FROM read_parquet(${sqlStringList(files)}, union_by_name = true, hive_partitioning = false) f
WHERE op = 'd' AND EXISTS (
  SELECT 1 FROM cdc_moves m WHERE m.d_ord IS NULL AND m.commit_lsn = f.p_commit AND m.lsn = f.p_lsn)
QUALIFY row_number() OVER (PARTITION BY p_commit, p_lsn ORDER BY k) = 1`;
}

/** `cdc_held_moves`: moves whose old key's row is nowhere yet (its delete is still to come). */
export const HOLD_START_SQL = `CREATE OR REPLACE TEMP TABLE cdc_held_moves AS
SELECT c_ord, new_k FROM cdc_moves m
WHERE d_ord IS NULL AND NOT EXISTS (SELECT 1 FROM cdc_departed p WHERE p.commit_lsn = m.commit_lsn AND p.lsn = m.lsn)`;

/** `cdc_held`: the held creates and every later event of their keys. */
export const HELD_EVENTS_SQL = `CREATE OR REPLACE TEMP TABLE cdc_held AS
SELECT l.ord FROM cdc_live l
JOIN (SELECT new_k, min(c_ord) AS from_ord FROM cdc_held_moves GROUP BY new_k) h ON l.k = h.new_k AND l.ord >= h.from_ord
WHERE NOT l.pseudo`;

/** Moves whose delete is held (its key has a held create before it): held too. */
export const HOLD_MORE_SQL = `SELECT c_ord, new_k FROM cdc_moves
WHERE d_ord IN (SELECT ord FROM cdc_held) AND c_ord NOT IN (SELECT c_ord FROM cdc_held_moves)`;

/** `cdc_pending` (the held events as bronze gave them), then the held events leave the fold. */
export const HOLD_SQL = [
  `CREATE OR REPLACE TEMP TABLE cdc_pending AS
SELECT b.* FROM cdc_batch b
WHERE EXISTS (SELECT 1 FROM cdc_live l WHERE l.ord IN (SELECT ord FROM cdc_held) AND l.k = b.k AND l.op = b.op AND l.lsn = b.lsn)`,
  "DELETE FROM cdc_live WHERE ord IN (SELECT ord FROM cdc_held)",
  "DELETE FROM cdc_moves WHERE c_ord IN (SELECT c_ord FROM cdc_held_moves)",
];

export const NO_PENDING_SQL =
  "CREATE OR REPLACE TEMP TABLE cdc_pending AS SELECT * FROM cdc_batch WHERE false";

/** Adds the events a previous run held back (`file`) to `cdc_batch`, unless the batch has them. */
export function injectPendingSql(file: string): string {
  return `INSERT INTO cdc_batch BY NAME
SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false) p
WHERE NOT EXISTS (SELECT 1 FROM cdc_batch b WHERE b.lsn = p.lsn AND b.op = p.op AND b.k IS NOT DISTINCT FROM p.k)`;
}

/**
 * `<into>` (`c_ord`, `m_<name>`): each move's values of the old key. From the stored or departed row,
 * or, when the delete is in the batch, the old key's version before it in `cdc_versions` (absent on
 * the first pass: a chain of key changes settles one link a pass).
 */
export function moveFillSql(columns: readonly CdcColumn[], into: string, versions: boolean): string {
  const prev = versions
    ? `SELECT m.c_ord, ${columns.map((c) => `v.${col(c)}`).join(", ")}
  FROM cdc_moves m ASOF JOIN cdc_versions v ON m.old_k = v.k AND m.d_ord > v.ord
  WHERE m.d_ord IS NOT NULL AND NOT m.d_stored`
    : `SELECT NULL::BIGINT AS c_ord, ${columns.map((c) => `NULL::${c.type} AS ${col(c)}`).join(", ")} WHERE false`;
  const value = (c: CdcColumn) =>
    `CASE WHEN m.d_ord IS NULL THEN p.${col(c)} WHEN m.d_stored THEN s.${col(c)} ELSE v.${col(c)} END AS ${fill(c)}`;
  return `CREATE OR REPLACE TEMP TABLE ${into} AS
WITH prev AS (${prev})
SELECT m.c_ord, ${columns.map(value).join(", ")}
FROM cdc_moves m
LEFT JOIN cdc_departed p ON m.d_ord IS NULL AND p.commit_lsn = m.commit_lsn AND p.lsn = m.lsn
LEFT JOIN cdc_live s ON m.d_stored AND s.ord = m.d_ord
LEFT JOIN prev v ON v.c_ord = m.c_ord`;
}

/** How many moves' values differ between `cdc_move_fill` and `cdc_move_fill_next`. */
export function fillChangesSql(columns: readonly CdcColumn[]): string {
  const differs = columns.map((c) => `a.${fill(c)} IS DISTINCT FROM b.${fill(c)}`).join(" OR ") || "false";
  return `SELECT count(*) FROM cdc_move_fill a JOIN cdc_move_fill_next b USING (c_ord) WHERE ${differs}`;
}

/**
 * The run's departed rows: deletes the state no longer shows because their key has a later event
 * (the key was used again), with the row they deleted, unless a move of this run already used them.
 * A later create of a key change finds its old key's row here.
 */
export function departedOutputSelect(columns: readonly CdcColumn[]): string {
  const later = "EXISTS (SELECT 1 FROM cdc_live l WHERE l.k = d.k AND l.ord > d.ord)";
  const unused = "NOT EXISTS (SELECT 1 FROM cdc_moves m WHERE m.commit_lsn = d.commit_lsn AND m.lsn = d.lsn)";
  return `SELECT d.k, d.commit_lsn AS p_commit, d.lsn AS p_lsn, 'd' AS op, ${columns.map((c) => `v.${col(c)}`).join(", ")}, 0 AS g
FROM cdc_live d ASOF LEFT JOIN cdc_versions v ON d.k = v.k AND d.ord > v.ord
WHERE d.op = 'd' AND NOT d.pseudo AND ${later} AND ${unused}
UNION ALL
SELECT d.k, d.commit_lsn, d.lsn, 'd', ${columns.map((c) => `d.${col(c)}`).join(", ")}, 0
FROM cdc_live d WHERE d.op = 'd' AND d.pseudo AND ${later} AND ${unused}`;
}

/** The held events, for the next run. */
export const PENDING_OUTPUT_SELECT = "SELECT *, 0 AS g FROM cdc_pending";
