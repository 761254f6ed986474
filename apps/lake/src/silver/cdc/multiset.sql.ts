/**
 * SQL for the CDC silver of a table without a primary key (multiset.ts). Its rows have no identity:
 * a row is its content (the JSON of its current columns), and the table is how many of each it holds.
 * The fold's state is that count per content (`n`) with the newest image's facts, so a run adds the
 * batch's images to it and takes its before-images away, in proportion to the batch.
 */
import { sqlString } from "../../runtime/duckdb.ts";
import { valueFromText } from "./column-types.ts";
import { ident, jsonPath } from "./replay.sql.ts";
import type { CdcColumn } from "./tables.ts";

/**
 * The newest event folded into a multiset: its Kafka partition and its place in commit order,
 * `order` being its `transaction.total_order` (-1 for a snapshot read, which has none). Strings hold
 * the unsigned LSNs.
 */
export interface MultisetWatermark {
  readonly partition: number;
  readonly commit: string;
  readonly read: 0 | 1;
  readonly lsn: string;
  readonly order: string;
}

const POSITION = "(commit_lsn, p_read, lsn, coalesce(t_order, -1))";

/** `cdc_live` for an incremental run: the batch's events after the watermark (earlier ones are replays). */
export const liveAfterSql = (w: MultisetWatermark): string =>
  `CREATE OR REPLACE TEMP TABLE cdc_live AS SELECT * FROM cdc_batch
WHERE ${POSITION} > (${w.commit}::UBIGINT, ${w.read}, ${w.lsn}::UBIGINT, ${w.order}::BIGINT)`;

/**
 * What decides whether `cdc_live` can be folded onto the stored state (multiset.ts incrementalBase).
 * Partitions are those of the whole batch: an event of another partition at or before the watermark
 * is not known to be a replay (partitions are not ordered with each other).
 */
export const LIVE_FACTS_SQL = `SELECT count(*) FILTER (WHERE op = 'r') AS reads,
  count(*) FILTER (WHERE t_order IS NULL) AS unordered,
  (SELECT list(DISTINCT kafka_partition ORDER BY kafka_partition) FROM cdc_batch) AS partitions
FROM cdc_live`;

/** The newest event of `events` with its partition, and how many partitions the events came from. */
export const watermarkSql = (events: string): string => `SELECT
  (SELECT count(DISTINCT kafka_partition) FROM ${events}) AS partitions,
  kafka_partition AS partition, commit_lsn::VARCHAR AS commit, p_read AS read, lsn::VARCHAR AS lsn,
  coalesce(t_order, -1)::VARCHAR AS "order"
FROM ${events} ORDER BY ${POSITION} DESC LIMIT 1`;

/**
 * `cdc_versions` for a table without a primary key: a multiset. Each row image adds one row with
 * those values, each `before` (an update or delete under REPLICA IDENTITY FULL) removes one; the
 * current state repeats each distinct row as often as it remains. Under REPLICA IDENTITY DEFAULT
 * PostgreSQL allows only inserts on a published keyless table, so only images are added. Rows are
 * compared on the current columns. `base`: the stored state (a file of `STATE_SELECT` rows) the
 * events are folded onto, older than every event (a truncate in the events drops it); without it
 * the events are the whole table. History: every image of the events; `valid_to` stays null (rows
 * have no identity). Returns the statements; `cdc_multiset` holds the counts.
 */
export function createMultisetVersionsSql(columns: readonly CdcColumn[], base?: string): string[] {
  const content = (side: "after" | "before") =>
    `json_object(${columns.map((c) => `${sqlString(c.name)}, json_extract(${side}, ${jsonPath(c.name)})`).join(", ")})::VARCHAR`;
  const typed = columns.map(
    (c) => `${valueFromText(c, `json_extract_string(row_json, ${jsonPath(c.name)})`)} AS ${ident(c.name)}`,
  );
  const stored = base
    ? `UNION ALL
SELECT row_json, image_keys, op, lsn, 0 AS ord, commit_ts, n AS delta
FROM read_parquet(${sqlString(base)}, hive_partitioning = false)`
    : "";
  const images = `CREATE OR REPLACE TEMP TABLE cdc_images AS
SELECT ${content("after")} AS row_json, json_keys(after) AS image_keys, op, lsn, ord, commit_ts, 1::BIGINT AS delta
FROM cdc_live WHERE op IN ('r', 'c', 'u')
UNION ALL
SELECT ${content("before")} AS row_json, json_keys(before) AS image_keys, op, lsn, ord, commit_ts, -1::BIGINT AS delta
FROM cdc_live WHERE op IN ('u', 'd') AND before IS NOT NULL AND json_type(before) = 'OBJECT'
${stored}`;
  // row_json lists every current column (null where the image had none), so the columns an image
  // really carried come from the image itself: the newest insert-side image of each remaining row.
  const multiset = `CREATE OR REPLACE TEMP TABLE cdc_multiset AS
WITH since AS (SELECT COALESCE((SELECT max(ord) FROM cdc_live WHERE op = 't'), -1) AS cut_ord)
SELECT row_json, sum(delta)::BIGINT AS n, arg_max(op, ord) AS op, arg_max(lsn, ord) AS lsn,
  max(ord) AS ord, arg_max(commit_ts, ord) AS commit_ts,
  arg_max(image_keys, ord) FILTER (WHERE delta > 0) AS image_keys
FROM cdc_images, since WHERE cdc_images.ord > since.cut_ord GROUP BY row_json HAVING sum(delta) > 0`;
  const versions = `CREATE OR REPLACE TEMP TABLE cdc_versions AS
SELECT ${typed.join(", ")}, NULL::VARCHAR AS _key, op AS _op, lsn::BIGINT AS _lsn, ord AS _ord, commit_ts AS valid_from,
  NULL::TIMESTAMPTZ AS valid_to, true AS is_current, false AS in_history, image_keys AS _after_keys
FROM cdc_multiset, range(n)
UNION ALL
SELECT ${typed.join(", ")}, NULL::VARCHAR, op, lsn::BIGINT, ord, commit_ts, NULL::TIMESTAMPTZ, false, true, image_keys
FROM cdc_images WHERE delta = 1 AND ord > 0`;
  return [images, multiset, versions, "DROP TABLE cdc_images"];
}

/** The fold's state after the run: one row per distinct current row, with its count. */
export const STATE_SELECT =
  "SELECT row_json, n, op, lsn, commit_ts, image_keys FROM cdc_multiset ORDER BY row_json";
