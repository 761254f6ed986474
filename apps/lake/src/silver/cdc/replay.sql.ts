/**
 * SQL for CDC silver (DuckDB). Events are read from bronze, parsed from the Debezium envelope,
 * deduplicated on (LSN, key, op), put in commit order (shared/src/contracts/cdc.ts compareCdcOrder:
 * commit LSN, an initial snapshot's read before a change committed at its consistent point, then
 * LSN; an incremental snapshot's read is placed like a change), cut at the latest initial snapshot
 * and the latest truncate, and folded per key (or, for a table without a
 * primary key, as a multiset). Unchanged-TOAST placeholders take the key's last sent value (in the
 * create of a primary-key change, the old key's: key-moves.ts).
 */
import { sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import type { CdcColumn } from "./tables.ts";

export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const jsonPath = (name: string): string => sqlString(`$."${name.replaceAll('"', '\\"')}"`);

const ENVELOPE_FIELDS = [
  "op",
  "source.lsn",
  "source.sequence",
  "source.ts_us",
  "after",
  "before",
  "source.snapshot",
  "transaction.total_order",
];
const SCHEMA_HASH = (after: string): string =>
  `CASE WHEN ${after} IS NULL THEN NULL ELSE hash(${after}::VARCHAR) END`;

/** A key in the JSON converter's `{"schema","payload"}` form → its payload; a schema-less key as it is. */
const unwrapKey = (k: string): string =>
  `CASE WHEN try(json_keys(${k})) = ['schema', 'payload'] THEN json_extract(${k}, '$.payload')::VARCHAR ELSE ${k} END`;

/**
 * The distinct envelope schemas (`after` row structs) of the events in `events`, read again from the
 * bronze `files`: `sh` → its JSON text. Only run when some event has a schema (CDC_SCHEMAS=on).
 */
export function eventSchemasSql(files: readonly string[], events: string): string {
  const list = sqlStringList(files);
  return `SELECT sh, any_value(s)::VARCHAR AS schema FROM (
  SELECT try(json_extract(decode(kafka_value), '$.schema.fields[1]')) AS s, ${SCHEMA_HASH("s")} AS sh
  FROM read_parquet(${list}, hive_partitioning = false) WHERE kafka_value IS NOT NULL
) WHERE sh IN (SELECT DISTINCT sh FROM ${events}) GROUP BY sh`;
}

/** Which of the DECIMAL-typed `columns` hold NaN or ±Infinity in some event of `events`. */
export function specialNumbersSql(events: string, columns: readonly string[]): string {
  const specials = "('NAN', 'POSITIVE_INFINITY', 'NEGATIVE_INFINITY', 'NaN', 'Infinity', '-Infinity')";
  return columns
    .map(
      (c) => `SELECT ${sqlString(c)} AS name FROM ${events}
WHERE json_extract_string(after, ${jsonPath(c)}) IN ${specials} OR json_extract_string(before, ${jsonPath(c)}) IN ${specials}
HAVING count(*) > 0`,
    )
    .join("\nUNION ALL\n");
}

/**
 * `<name>`: one row per distinct change event of the bronze `files`, with its commit-order position
 * `ord`, and `cdc_invalid_rows` (a count): bronze rows that are not change events (not JSON, no op or
 * LSN) are counted, never silently used. Each envelope is parsed once. Returns the statements.
 *
 * `p_read` is 0 only for an initial snapshot's read (`source.snapshot` anything but `incremental`):
 * those sit before the changes committed at their consistent point, and the latest of them cuts the
 * table (liveSql). An incremental snapshot's read (`incremental`) is 1: an upsert of its whole row at
 * its commit (`source.sequence[0]`, the high watermark's), like a change. Debezium writes such reads
 * with `lsn` null and `sequence` [c, c]; their LSN is taken from the sequence, so they sit at the end
 * of commit c, the last one Debezium had streamed (after the low watermark, when every change of the
 * chunk's keys up to there has already dropped the key from the chunk).
 */
export function createEventsSql(files: readonly string[], name = "cdc_events"): string[] {
  const list = sqlStringList(files);
  const parsed = `CREATE OR REPLACE TEMP TABLE cdc_parsed AS
WITH raw AS (
  SELECT kafka_partition, kafka_offset, try(decode(kafka_key)) AS k, try(decode(kafka_value)) AS v
  FROM read_parquet(${list}, hive_partitioning = false)
  WHERE kafka_value IS NOT NULL
), f AS (
  SELECT kafka_partition, kafka_offset, ${unwrapKey("k")} AS k,
    try(json_extract(v, [${ENVELOPE_FIELDS.flatMap((p) => [`'$.${p}'`, `'$.payload.${p}'`]).join(", ")}, '$.schema.fields[1]'])) AS f
  FROM raw
)
SELECT kafka_partition, kafka_offset, k, op,
  COALESCE(lsn, CASE WHEN p_read = 1 AND op = 'r' THEN COALESCE(TRY_CAST(seq_lsn AS UBIGINT), TRY_CAST(seq_commit AS UBIGINT)) END) AS lsn,
  seq_commit, ts_us, after, before, p_read, t_order, sh
FROM (
  SELECT kafka_partition, kafka_offset, k,
    json_extract_string(coalesce(f[1], f[2]), '$') AS op,
    TRY_CAST(json_extract_string(coalesce(f[3], f[4]), '$') AS UBIGINT) AS lsn,
    json_extract_string(json_extract_string(coalesce(f[5], f[6]), '$'), '$[0]') AS seq_commit,
    json_extract_string(json_extract_string(coalesce(f[5], f[6]), '$'), '$[1]') AS seq_lsn,
    TRY_CAST(json_extract_string(coalesce(f[7], f[8]), '$') AS BIGINT) AS ts_us,
    coalesce(f[9], f[10]) AS after, coalesce(f[11], f[12]) AS before,
    CASE WHEN json_extract_string(coalesce(f[1], f[2]), '$') = 'r'
      AND json_extract_string(coalesce(f[13], f[14]), '$') IS DISTINCT FROM 'incremental' THEN 0 ELSE 1 END AS p_read,
    TRY_CAST(json_extract_string(coalesce(f[15], f[16]), '$') AS BIGINT) AS t_order,
    -- The JSON converter's schema (CDC_SCHEMAS=on): a hash of its row struct; the text is read once per distinct hash.
    ${SCHEMA_HASH("f[17]")} AS sh
  FROM f
)`;
  const invalid = `CREATE OR REPLACE TEMP TABLE cdc_invalid_rows AS
SELECT count(*) AS n FROM cdc_parsed WHERE op IS NULL OR op NOT IN ('r', 'c', 'u', 'd', 't') OR lsn IS NULL`;
  const events = `CREATE OR REPLACE TEMP TABLE ${name} AS
WITH valid AS (
  SELECT * FROM cdc_parsed
  WHERE op IN ('r', 'c', 'u', 'd', 't') AND lsn IS NOT NULL AND ts_us IS NOT NULL
  -- A change is one WAL record: (LSN, key, op) identifies it across replays, with its place in the
  -- transaction (total_order) where the envelope has one: the rows of one COPY share a WAL record,
  -- so equal rows of a keyless table differ only there. Snapshot reads share the consistent point's
  -- LSN and have no transaction block, so keyless reads (equal rows are distinct rows) are told
  -- apart by their Kafka record; the same record read twice (a compacted copy) is still one.
  QUALIFY row_number() OVER (
    PARTITION BY lsn, k, op, p_read, t_order,
      CASE WHEN k IS NULL AND op = 'r' THEN kafka_partition END,
      CASE WHEN k IS NULL AND op = 'r' THEN kafka_offset END
    ORDER BY kafka_partition, kafka_offset) = 1
)
SELECT k, op, lsn, after, before, kafka_partition, kafka_offset, sh,
  COALESCE(TRY_CAST(seq_commit AS UBIGINT), lsn) AS commit_lsn,
  make_timestamp(ts_us)::TIMESTAMPTZ AS commit_ts, p_read, t_order,
  row_number() OVER (ORDER BY COALESCE(TRY_CAST(seq_commit AS UBIGINT), lsn), p_read, lsn, t_order, k, kafka_partition, kafka_offset) AS ord
FROM valid`;
  return [parsed, invalid, events, "DROP TABLE cdc_parsed"];
}

/**
 * `cdc_live`: the events that make up the current table. An initial snapshot is a complete image at
 * its consistent point, so the latest one replaces everything before it (also the rows of an
 * interrupted earlier attempt); a truncate empties the table. An incremental snapshot's reads
 * (`p_read` 1) are only upserts at their commit: they never cut, and stay when after the cut.
 */
export const CREATE_LIVE_SQL = liveSql("cdc_events", "cdc_live");

export function liveSql(from: string, to: string): string {
  return `CREATE OR REPLACE TEMP TABLE ${to} AS
WITH cut AS (SELECT (SELECT max(lsn) FROM ${from} WHERE op = 'r' AND p_read = 0) AS snapshot_lsn)
SELECT e.* FROM ${from} e, cut
WHERE (cut.snapshot_lsn IS NULL OR (e.p_read = 0 AND e.lsn = cut.snapshot_lsn) OR (e.p_read = 1 AND e.commit_lsn >= cut.snapshot_lsn))`;
}

/**
 * The table's columns now: those of the newest row image (a dropped column is gone, an added one is
 * there). For tables without a declared schema.
 */
export const currentColumnsSql = (from: string): string => `SELECT unnest(json_keys(after)) AS name FROM (
  SELECT after FROM ${from} WHERE op IN ('r', 'c', 'u') ORDER BY ord DESC LIMIT 1
)`;
export const CURRENT_COLUMNS_SQL = currentColumnsSql("cdc_live");

/** Every column any row image had, in the order first seen (the history keeps dropped columns). */
export const allColumnsSql = (from: string): string => `SELECT name FROM (
  SELECT name, min(ord) AS first_seen FROM (
    SELECT unnest(json_keys(after)) AS name, ord FROM ${from} WHERE op IN ('r', 'c', 'u')
  ) GROUP BY name
) ORDER BY first_seen, name`;

/** True when no event of the table carries a key: it has no primary key (and is a multiset). */
export const KEYLESS_SQL = `SELECT count(*) FILTER (WHERE k IS NOT NULL) = 0 AND count(*) > 0 FROM cdc_live WHERE op <> 't'`;

/**
 * `cdc_versions` for a keyed table: every row version (r, c, u) of `cdc_live` (keyed.sql.ts: typed
 * columns `c_<name>` and unchanged-TOAST flags `u_<name>`) with its columns filled: a placeholder in
 * an update repeats the key's previous version; one in a create (the new key of a primary-key
 * change) takes the old key's value, `m_<name>` in `cdc_move_fill` (key-moves.sql.ts). Skipped when
 * the events have no placeholder. Plus `valid_from` (commit time), `valid_to` (the key's next change
 * or a later truncate) and `is_current`.
 */
export function createVersionsSql(columns: readonly CdcColumn[], placeholders: boolean): string {
  const filled = columns.map((c) => {
    const v = ident(`c_${c.name}`);
    if (!placeholders) return `${v}`;
    const u = ident(`u_${c.name}`);
    const m = ident(`m_${c.name}`);
    // The previous version's value is that of the key's last row that sent one (or a create's filled
    // one); wrapped in a list so that a NULL it sent is kept, not skipped.
    return `CASE WHEN NOT ${u} THEN ${v} WHEN op = 'c' THEN ${m}
      ELSE (last_value(CASE WHEN NOT ${u} OR op = 'c' THEN [CASE WHEN ${u} THEN ${m} ELSE ${v} END] END IGNORE NULLS)
        OVER (PARTITION BY k ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))[1] END AS ${v}`;
  });
  const source = placeholders ? "cdc_live l LEFT JOIN cdc_move_fill mf ON mf.c_ord = l.ord" : "cdc_live l";
  return `CREATE OR REPLACE TEMP TABLE cdc_versions AS
WITH truncates AS (SELECT ord, commit_ts FROM cdc_live WHERE op = 't'),
keyed AS (
  SELECT *,
    lead(commit_ts) OVER (PARTITION BY k ORDER BY ord) AS next_change_ts,
    row_number() OVER (PARTITION BY k ORDER BY ord DESC) AS newest
  FROM ${source} WHERE op <> 't'
),
filled AS (
  SELECT k, op, lsn, ord, commit_lsn, p_read, commit_ts, next_change_ts, newest, absent_keys, pseudo,
    ${filled.join(",\n    ")}
  FROM keyed
)
SELECT f.*, commit_ts AS valid_from,
  least(next_change_ts, (SELECT min(t.commit_ts) FROM truncates t WHERE t.ord > f.ord)) AS valid_to,
  newest = 1 AND NOT EXISTS (SELECT 1 FROM truncates t WHERE t.ord > f.ord) AS is_current
FROM filled f
WHERE op IN ('r', 'c', 'u')`;
}

/**
 * The current state: each key's newest version, unless its newest event is a delete or a truncate
 * followed. `_absent_columns` names the columns the row's newest image did not carry (added to the
 * table after the row last changed, e.g. ADD COLUMN … DEFAULT: PostgreSQL logs no change for such
 * rows, so their value is unknown here and shown null) — silver says so instead of guessing.
 */
export function currentSelect(columns: readonly CdcColumn[]): string {
  const names = `[${columns.map((c) => sqlString(c.name)).join(", ")}]::VARCHAR[]`;
  return `SELECT ${columns.map((c) => ident(c.name)).join(", ")}, _op, _lsn, valid_from AS _commit_ts,
  list_filter(${names}, c -> NOT list_contains(_after_keys, c)) AS _absent_columns
FROM cdc_versions WHERE is_current ORDER BY _key, ${columns.map((c) => ident(c.name)).join(", ")}`;
}

export function historySelect(columns: readonly CdcColumn[]): string {
  return `SELECT ${columns.map((c) => ident(c.name)).join(", ")}, _op, _lsn, valid_from, valid_to
FROM cdc_versions WHERE in_history ORDER BY _key, _ord`;
}
