/**
 * The day files a run writes (DuckDB): a gold book file holds a symbol's UTC day, and a run recomputes
 * hours. Each dataset's day is the rows recomputed (`*_new`) plus the rows of its existing file that
 * no recomputed hour covers: a whole hour replaces all of its rows; an edge hour its seconds in
 * [from_s, to_s), and its minutes and health row (recomputed from all of its seconds). A full run
 * passes no existing files: the days are what it recomputed.
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";
import { BOOK_1M_COLUMNS, BOOK_1S_COLUMNS } from "./metrics.sql.ts";
import { BOOK_QUALITY_COLUMNS } from "./quality.sql.ts";
import { HOUR_US } from "./replay.sql.ts";

/** Existing rows as staged rows (`p_symbol`, `p_file`), those of `time` in an hour of `book_hours` left out (`cover`). */
function keptSql(files: readonly string[], columns: readonly string[], time: string, cover: string): string {
  return `SELECT ${columns.join(", ")}, p_symbol, p_file FROM (
  SELECT *, ${pairOfSymbolSql("symbol")} AS p_symbol, strftime(${time}, '%Y-%m-%d') AS p_file,
    epoch_us(${time}) AS time_us
  FROM read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true)
) x
ANTI JOIN book_hours h ON h.p_symbol = x.p_symbol AND h.t_us = x.time_us // ${HOUR_US} * ${HOUR_US}${cover}`;
}

function daySql(
  table: string,
  fresh: string,
  columns: readonly string[],
  existing: readonly string[],
  kept: () => string,
): string {
  const rows = `SELECT ${columns.join(", ")}, p_symbol, p_file FROM ${fresh}`;
  return `CREATE OR REPLACE TEMP TABLE ${table} AS
${existing.length > 0 ? `${rows}\nUNION ALL\n${kept()}` : rows}`;
}

/** `book_1s_day`: the seconds replayed and the existing seconds outside each recomputed hour's [from_s, to_s). */
export function createBook1sDaySql(existing: readonly string[]): string {
  return daySql("book_1s_day", "book_1s_new", BOOK_1S_COLUMNS, existing, () =>
    keptSql(
      existing,
      BOOK_1S_COLUMNS,
      "second",
      " AND x.time_us // 1000000 >= h.from_s AND x.time_us // 1000000 < h.to_s",
    ),
  );
}

/** `book_1m_day`: the minutes of the recomputed hours and the existing minutes of the others. */
export function createBook1mDaySql(existing: readonly string[]): string {
  return daySql("book_1m_day", "book_1m_new", BOOK_1M_COLUMNS, existing, () =>
    keptSql(existing, BOOK_1M_COLUMNS, "minute", ""),
  );
}

/** `book_quality_day`: the health rows of the recomputed hours and the existing rows of the others. */
export function createBookQualityDaySql(existing: readonly string[]): string {
  return daySql("book_quality_day", "book_quality_new", BOOK_QUALITY_COLUMNS, existing, () =>
    keptSql(existing, BOOK_QUALITY_COLUMNS, "hour", ""),
  );
}
