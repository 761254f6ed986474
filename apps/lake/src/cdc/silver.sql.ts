/**
 * SQL for CDC silver (DuckDB). Events are read from bronze, parsed from the Debezium envelope,
 * deduplicated on (LSN, key, op), put in commit order (shared/src/contracts/cdc.ts compareCdcOrder:
 * commit LSN, a snapshot read before a change committed at its consistent point, then LSN), cut at
 * the latest snapshot and the latest truncate, and folded per key. Unchanged-TOAST placeholders take
 * the column's previous value.
 */
import { UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { sqlString } from "../silver/duckdb.ts";
import type { CdcColumn } from "./tables.ts";

const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const jsonPath = (name: string): string => sqlString(`$."${name.replaceAll('"', '\\"')}"`);

/** `cdc_events`: one row per distinct change event, with its commit-order position `ord`. */
export function createEventsSql(files: readonly string[]): string {
  const list = `[${files.map(sqlString).join(", ")}]`;
  return `CREATE OR REPLACE TEMP TABLE cdc_events AS
WITH raw AS (
  SELECT kafka_partition, kafka_offset, try(decode(kafka_key)) AS k, try(decode(kafka_value)) AS v
  FROM read_parquet(${list}, hive_partitioning = false)
  WHERE kafka_value IS NOT NULL
), parsed AS (
  SELECT kafka_partition, kafka_offset, k,
    json_extract_string(v, '$.op') AS op,
    TRY_CAST(json_extract_string(v, '$.source.lsn') AS UBIGINT) AS lsn,
    json_extract_string(json_extract_string(v, '$.source.sequence'), '$[0]') AS seq_commit,
    TRY_CAST(json_extract_string(v, '$.source.ts_us') AS BIGINT) AS ts_us,
    json_extract(v, '$.after') AS after
  FROM raw
  WHERE v IS NOT NULL AND json_valid(v)
), valid AS (
  SELECT * FROM parsed
  WHERE op IN ('r', 'c', 'u', 'd', 't') AND lsn IS NOT NULL AND ts_us IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY lsn, k, op ORDER BY kafka_partition, kafka_offset) = 1
)
SELECT k, op, lsn, after,
  COALESCE(TRY_CAST(seq_commit AS UBIGINT), lsn) AS commit_lsn,
  make_timestamp(ts_us)::TIMESTAMPTZ AS commit_ts,
  row_number() OVER (ORDER BY COALESCE(TRY_CAST(seq_commit AS UBIGINT), lsn), CASE WHEN op = 'r' THEN 0 ELSE 1 END, lsn, k) AS ord
FROM valid`;
}

/** Rows of bronze that are not change events (not JSON, no op or LSN): counted, never silently used. */
export function invalidEventsSql(files: readonly string[]): string {
  const list = `[${files.map(sqlString).join(", ")}]`;
  return `SELECT count(*) AS n FROM (
  SELECT try(decode(kafka_value)) AS v FROM read_parquet(${list}, hive_partitioning = false) WHERE kafka_value IS NOT NULL
) WHERE v IS NULL OR NOT json_valid(v) OR json_extract_string(v, '$.op') NOT IN ('r', 'c', 'u', 'd', 't')
   OR TRY_CAST(json_extract_string(v, '$.source.lsn') AS UBIGINT) IS NULL`;
}

/**
 * `cdc_live`: the events that make up the current table. A snapshot is a complete image at its
 * consistent point, so the latest snapshot replaces everything before it (also the rows of an
 * interrupted earlier attempt); a truncate empties the table.
 */
export const CREATE_LIVE_SQL = `CREATE OR REPLACE TEMP TABLE cdc_live AS
WITH cut AS (
  SELECT
    (SELECT max(lsn) FROM cdc_events WHERE op = 'r') AS snapshot_lsn,
    (SELECT max(ord) FROM cdc_events WHERE op = 't') AS truncate_ord
)
SELECT e.* FROM cdc_events e, cut
WHERE (cut.snapshot_lsn IS NULL OR (e.op = 'r' AND e.lsn = cut.snapshot_lsn) OR (e.op <> 'r' AND e.commit_lsn >= cut.snapshot_lsn))`;

/** Column names seen in the events, for tables without a declared schema. */
export const DISCOVER_COLUMNS_SQL = `SELECT name FROM (
  SELECT unnest(json_keys(after)) AS name, min(ord) AS first_seen FROM cdc_live WHERE op IN ('r', 'c', 'u') GROUP BY ALL
) ORDER BY first_seen, name`;

/**
 * `cdc_versions`: every row version (r, c, u) after the cuts with its columns filled: an
 * unavailable (unchanged TOAST) value takes the key's previous value. Plus `_op`, `_lsn`,
 * `valid_from` (commit time) and `valid_to` (the key's next change or a later truncate).
 */
export function createVersionsSql(columns: readonly CdcColumn[]): string {
  const filled = columns.map((c) => {
    const raw = `json_extract(after, ${jsonPath(c.name)})`;
    return `last_value(CASE WHEN json_extract_string(after, ${jsonPath(c.name)}) = ${sqlString(UNAVAILABLE_VALUE)} THEN NULL ELSE ${raw} END IGNORE NULLS)
      OVER (PARTITION BY k ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${ident(`j_${c.name}`)}`;
  });
  const typed = columns.map((c) =>
    c.type === "VARCHAR"
      ? `json_extract_string(${ident(`j_${c.name}`)}, '$') AS ${ident(c.name)}`
      : `CAST(json_extract_string(${ident(`j_${c.name}`)}, '$') AS ${c.type}) AS ${ident(c.name)}`,
  );
  return `CREATE OR REPLACE TEMP TABLE cdc_versions AS
WITH truncates AS (SELECT ord, commit_ts FROM cdc_live WHERE op = 't'),
keyed AS (
  SELECT k, op, lsn, ord, commit_ts, after,
    lead(commit_ts) OVER (PARTITION BY k ORDER BY ord) AS next_change_ts,
    row_number() OVER (PARTITION BY k ORDER BY ord DESC) AS newest
  FROM cdc_live WHERE op <> 't'
),
filled AS (
  SELECT k, op, lsn, ord, commit_ts, next_change_ts, newest,
    ${filled.join(",\n    ")}
  FROM keyed
)
SELECT ${typed.join(", ")},
  k AS _key, op AS _op, lsn AS _lsn, ord AS _ord, commit_ts AS valid_from,
  least(next_change_ts, (SELECT min(t.commit_ts) FROM truncates t WHERE t.ord > f.ord)) AS valid_to,
  newest = 1 AND NOT EXISTS (SELECT 1 FROM truncates t WHERE t.ord > f.ord) AS is_current
FROM filled f
WHERE op IN ('r', 'c', 'u')`;
}

/** The current state: each key's newest version, unless its newest event is a delete or a truncate followed. */
export function currentSelect(columns: readonly CdcColumn[]): string {
  return `SELECT ${columns.map((c) => ident(c.name)).join(", ")}, _op, _lsn, valid_from AS _commit_ts
FROM cdc_versions WHERE is_current ORDER BY _key`;
}

export function historySelect(columns: readonly CdcColumn[]): string {
  return `SELECT ${columns.map((c) => ident(c.name)).join(", ")}, _op, _lsn, valid_from, valid_to
FROM cdc_versions ORDER BY _key, _ord`;
}
