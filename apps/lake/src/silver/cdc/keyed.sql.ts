/**
 * SQL of incremental CDC silver for a table with a primary key (DuckDB). The stored state of each
 * touched key (its newest position and typed row) joins the new events as a pseudo-event, so one
 * fold (replay.sql.ts createVersionsSql) both applies the events and closes the versions they
 * supersede; events at or before a key's stored position are replays and are skipped. State rows
 * carry `kh`, a stable 64-bit hash of the key, so finding the groups of a batch's keys reads one
 * small column of the state, not the keys.
 */
import { UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { valueFromText } from "./column-types.ts";
import { ident, jsonPath, liveSql } from "./replay.sql.ts";
import type { CdcPosition } from "./silver-state.ts";
import type { CdcColumn } from "./tables.ts";

const col = (c: CdcColumn): string => ident(`c_${c.name}`);
const flag = (c: CdcColumn): string => ident(`u_${c.name}`);
const KEY_HASH = "md5_number_lower(k)";

const stateColumns = (columns: readonly CdcColumn[]): string =>
  `k VARCHAR, kh UBIGINT, grp INTEGER, p_commit UBIGINT, p_read INTEGER, p_lsn UBIGINT, op VARCHAR, lsn UBIGINT,
  commit_ts TIMESTAMPTZ, absent_keys VARCHAR[], alive BOOLEAN, ${columns.map((c) => `${col(c)} ${c.type}`).join(", ")},
  run_seq INTEGER, run_attempt INTEGER`;

export const positionSql = (p: CdcPosition): string => `(${p.commit}::UBIGINT, ${p.read}, ${p.lsn}::UBIGINT)`;
/** `p_read`: 0 for an initial snapshot's read, 1 for a change or an incremental read (replay.sql.ts). */
const eventPosition = (t: string): string => `(${t}.commit_lsn, ${t}.p_read, ${t}.lsn)`;

/** A rebuild keeps only what follows the latest initial snapshot (replay.sql.ts liveSql) in `cdc_batch`. */
export const CUT_BATCH_SQL = [
  "CREATE OR REPLACE TEMP TABLE cdc_batch_all AS SELECT * FROM cdc_batch",
  liveSql("cdc_batch_all", "cdc_batch"),
  "DROP TABLE cdc_batch_all",
];

/** Groups whose state holds one of the batch's keys (or a key with the same hash). */
export function probeGroupsSql(stateFiles: readonly string[]): string {
  return `SELECT DISTINCT grp FROM read_parquet(${sqlStringList(stateFiles)}, hive_partitioning = false)
WHERE kh IN (SELECT DISTINCT ${KEY_HASH} FROM cdc_batch WHERE k IS NOT NULL) ORDER BY grp`;
}

/** `touched_state`: the stored state of the groups being rewritten (none on a rebuild). */
export function loadTouchedStateSql(columns: readonly CdcColumn[], stateFiles: readonly string[]): string {
  if (stateFiles.length === 0) return `CREATE OR REPLACE TEMP TABLE touched_state (${stateColumns(columns)})`;
  return `CREATE OR REPLACE TEMP TABLE touched_state AS
SELECT * FROM read_parquet(${sqlStringList(stateFiles)}, hive_partitioning = false)`;
}

/** Adds groups read later (the groups new keys join) to `touched_state`. */
export function addTouchedStateSql(stateFiles: readonly string[]): string {
  return `INSERT INTO touched_state BY NAME SELECT * FROM read_parquet(${sqlStringList(stateFiles)}, hive_partitioning = false)`;
}

export const OLD_STATE_SQL = `CREATE OR REPLACE TEMP TABLE old_state AS
SELECT * FROM touched_state WHERE k IN (SELECT DISTINCT k FROM cdc_batch WHERE k IS NOT NULL)`;

/**
 * `cdc_live`: the batch's events after the cut and after each key's stored position, typed
 * (`c_<name>`, with `u_<name>` flagging an unchanged-TOAST placeholder), plus the stored state of
 * the keys they touch as pseudo-events, in commit order (`ord`).
 */
export function createKeyedEventsSql(columns: readonly CdcColumn[], cut: CdcPosition | null): string {
  const afterCut = cut ? `AND ${eventPosition("b")} >= ${positionSql(cut)}` : "";
  const paths = `[${columns.map((c) => jsonPath(c.name)).join(", ")}]`;
  const typed = columns.map((c, i) => {
    const text = `vals[${i + 1}]`;
    const value = valueFromText(c, text);
    return `CASE WHEN ${text} = ${sqlString(UNAVAILABLE_VALUE)} THEN NULL ELSE ${value} END AS ${col(c)},
    coalesce(${text} = ${sqlString(UNAVAILABLE_VALUE)}, false) AS ${flag(c)}`;
  });
  const pseudoCols = columns.map((c) => `s.${col(c)}, false AS ${flag(c)}`);
  const names = `[${columns.map((c) => sqlString(c.name)).join(", ")}]::VARCHAR[]`;
  return `CREATE OR REPLACE TEMP TABLE cdc_live AS
WITH fresh AS (
  SELECT b.k, b.op, b.lsn, b.commit_lsn, b.commit_ts, b.p_read,
    json_keys(b.after) AS after_keys, json_extract_string(b.after, ${paths}) AS vals
  FROM cdc_batch b LEFT JOIN old_state s ON s.k = b.k
  WHERE (s.k IS NULL OR ${eventPosition("b")} > (s.p_commit, s.p_read, s.p_lsn)) ${afterCut}
),
typed AS (
  SELECT k, op, lsn, commit_lsn, commit_ts, p_read, false AS pseudo,
    CASE WHEN op = 'd' THEN NULL ELSE list_filter(${names}, c -> NOT list_contains(after_keys, c)) END AS absent_keys,
    ${typed.join(",\n    ")}
  FROM fresh
),
pseudo AS (
  SELECT s.k, CASE WHEN s.alive THEN s.op ELSE 'd' END AS op, s.lsn, s.p_commit AS commit_lsn, s.commit_ts,
    s.p_read, s.absent_keys, true AS pseudo, ${pseudoCols.join(", ")}
  FROM old_state s WHERE s.k IN (SELECT k FROM fresh)
),
u AS (SELECT * FROM typed UNION ALL BY NAME SELECT * FROM pseudo)
SELECT *, row_number() OVER (ORDER BY commit_lsn, p_read, lsn, k) AS ord FROM u`;
}

/** Whether any event carries an unchanged-TOAST placeholder (the fold then fills it in). */
export function placeholdersSql(columns: readonly CdcColumn[]): string {
  if (columns.length === 0) return "SELECT false";
  return `SELECT count(*) > 0 FROM cdc_live WHERE ${columns.map(flag).join(" OR ")}`;
}

/** Facts about the new events that decide whether the run must rebuild (keyed.ts). */
export function batchFactsSql(cut: CdcPosition | null): string {
  const after = cut ? `WHERE ${eventPosition("b")} >= ${positionSql(cut)}` : "";
  return `WITH e AS (SELECT * FROM cdc_batch b ${after})
SELECT
  (SELECT max(lsn) FROM e WHERE op = 'r' AND p_read = 0)::VARCHAR AS snapshot_lsn,
  (SELECT count(*) FROM e WHERE op = 't') AS truncates,
  (SELECT count(*) FROM e WHERE op <> 't' AND k IS NOT NULL) AS keyed,
  (SELECT count(*) FROM e WHERE op <> 't') AS events,
  (SELECT list(DISTINCT name ORDER BY name) FROM (SELECT unnest(json_keys(after)) AS name FROM e WHERE op IN ('r', 'c', 'u'))) AS names`;
}

/** The newest row image of the batch: its columns and position. */
export const NEWEST_IMAGE_SQL = `SELECT json_keys(after) AS names, commit_lsn::VARCHAR AS p_commit,
  p_read, lsn::VARCHAR AS p_lsn
FROM cdc_batch WHERE op IN ('r', 'c', 'u') ORDER BY commit_lsn DESC, p_read DESC, lsn DESC LIMIT 1`;

/**
 * `new_state`: every key the fold saw, with its newest position, its row and whether it is alive (a
 * deleted key keeps its last row: a later key change may need it, key-moves.sql.ts). A key new to silver joins the last group until it holds `groupKeys`, then the next, in the order
 * the keys first arrived (a snapshot's table order), so rows changed together tend to share a group.
 */
export function createNewStateSql(
  columns: readonly CdcColumn[],
  assignedKeys: number,
  groupKeys: number,
): string {
  return `CREATE OR REPLACE TEMP TABLE new_state AS
WITH newest AS (
  SELECT * FROM cdc_live WHERE op <> 't' AND k IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY k ORDER BY ord DESC) = 1
),
-- A key deleted by the fold keeps the row its delete removed.
deleted AS (
  SELECT * FROM cdc_versions WHERE k IN (SELECT k FROM newest WHERE op = 'd' AND NOT pseudo)
  QUALIFY row_number() OVER (PARTITION BY k ORDER BY ord DESC) = 1
),
arrival AS (
  SELECT b.k, min(b.kafka_offset) AS first_offset, min(b.kafka_partition) AS first_partition
  FROM cdc_batch b WHERE b.k IN (SELECT k FROM newest) AND b.k NOT IN (SELECT k FROM old_state) GROUP BY b.k
),
assigned AS (
  SELECT k, ((${assignedKeys} + row_number() OVER (ORDER BY first_offset, first_partition, k) - 1) // ${groupKeys})::INTEGER AS grp
  FROM arrival
)
SELECT n.k, md5_number_lower(n.k) AS kh, COALESCE(s.grp, a.grp) AS grp, n.commit_lsn AS p_commit, n.p_read,
  n.lsn AS p_lsn, n.op, n.lsn, n.commit_ts, v.absent_keys, COALESCE(v.is_current, false) AS alive,
  ${columns.map((c) => `CASE WHEN n.pseudo THEN n.${col(c)} WHEN n.op = 'd' THEN d.${col(c)} ELSE v.${col(c)} END AS ${col(c)}`).join(", ")}
FROM newest n
LEFT JOIN cdc_versions v ON v.k = n.k AND v.ord = n.ord
LEFT JOIN deleted d ON d.k = n.k
LEFT JOIN old_state s ON s.k = n.k
LEFT JOIN assigned a ON a.k = n.k`;
}

/** Groups the new keys joined. */
export const NEW_KEY_GROUPS_SQL =
  "SELECT DISTINCT grp FROM new_state WHERE k NOT IN (SELECT k FROM old_state) ORDER BY grp";

/** `group_state`: the complete new state of the groups being rewritten. */
export function createGroupStateSql(seq: number, attempt: number): string {
  return `CREATE OR REPLACE TEMP TABLE group_state AS
SELECT * REPLACE (${seq}::INTEGER AS run_seq, ${attempt}::INTEGER AS run_attempt)
FROM touched_state WHERE k NOT IN (SELECT k FROM new_state)
UNION ALL BY NAME
SELECT *, ${seq}::INTEGER AS run_seq, ${attempt}::INTEGER AS run_attempt FROM new_state`;
}

/** The attempt a re-run of the same run number is at (state files it already published). */
export const ATTEMPT_SQL = (seq: number): string =>
  `SELECT COALESCE(max(run_attempt) + 1, 0) FROM touched_state WHERE run_seq = ${seq}`;

/** Each output of a run, one file per group (`grp` picks the file; it is not written). */
export function stateOutputSelect(): string {
  return "SELECT *, grp AS g FROM group_state";
}

/**
 * The current rows: alive keys, with `_absent_columns` (columns their newest image did not carry).
 * `_lsn` is a BIGINT, not the UBIGINT an LSN is: Iceberg has no unsigned 64-bit type, and an LSN
 * reaches 2^63 only after 8 EiB of WAL (the cast fails loudly if one ever does).
 */
export function currentOutputSelect(columns: readonly CdcColumn[]): string {
  const names = `[${columns.map((c) => sqlString(c.name)).join(", ")}]::VARCHAR[]`;
  return `SELECT ${columns.map((c) => `${col(c)} AS ${ident(c.name)}`).join(", ")}, op AS _op, lsn::BIGINT AS _lsn,
  commit_ts AS _commit_ts,
  CASE WHEN len(absent_keys) = 0 THEN []::VARCHAR[] ELSE list_filter(${names}, c -> list_contains(absent_keys, c)) END AS _absent_columns,
  grp AS g
FROM group_state WHERE alive`;
}

/** The open versions (the current rows with the history's columns). */
export function openHistoryOutputSelect(columns: readonly CdcColumn[]): string {
  return `SELECT ${columns.map((c) => `${col(c)} AS ${ident(c.name)}`).join(", ")}, op AS _op, lsn::BIGINT AS _lsn,
  commit_ts AS valid_from, NULL::TIMESTAMPTZ AS valid_to, grp AS g
FROM group_state WHERE alive`;
}

/** Versions this run closed. */
export function closedHistoryOutputSelect(columns: readonly CdcColumn[]): string {
  return `SELECT ${columns.map((c) => `v.${col(c)} AS ${ident(c.name)}`).join(", ")}, v.op AS _op, v.lsn::BIGINT AS _lsn,
  v.valid_from, v.valid_to, s.grp AS g
FROM cdc_versions v JOIN new_state s ON s.k = v.k
WHERE v.valid_to IS NOT NULL ORDER BY v.k, v.ord`;
}

export const GROUP_COUNTS_SQL =
  "SELECT grp, count(*) AS keys, count(*) FILTER (WHERE alive) AS rows FROM group_state GROUP BY grp ORDER BY grp";
