/**
 * The order book at the end of every second, rebuilt in DuckDB from silver's checkpoints and events.
 * A book replay is a fold (each message applied, then each side cut to the depth), which SQL cannot
 * express row by row; but silver checkpoints the whole book whenever an event opens a new minute, so
 * every chain of events from one checkpoint to the next is at most a minute long. The job therefore
 * folds all chains at once, one second per step (`list_reduce` over that second's messages, starting
 * from the previous second's book): about 60 statements, each vectorised over every chain of the
 * loaded hours and reading only its step's rows (a recursive CTE would rebuild its join over every
 * second at each step), and memory bounded by one book per second with events.
 *
 * The unit is the hour (`book_hour_list`: p_symbol, t_us, kind): an hour's rows are a function of
 * the silver hours before, of and after it (its *window*) and nothing else, so recomputing it alone or
 * with its whole day gives the same rows. Every table is therefore keyed by the hour `t_us` it serves,
 * an event once per hour whose window holds it; effective times and runs are taken within the window.
 * An hour replays its seconds in [from_s, to_s) (`book_hours`): the chains from the last checkpoint
 * before `from_s`.
 *
 * Tables, in order: `bk_ev` (the loaded events), `bk_evt` (each event in the windows holding it),
 * `bk_cpb` (the loaded checkpoint books), `book_hours`, `bk_cp` (the checkpoints that start a chain),
 * `bk_sec` (a chain's messages grouped by second), `bk_state` (the book after each such second),
 * `bk_known` (per symbol and second the span of the known book, `bk_spans`: see docs/datasets.md).
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";

const LEVELS = "STRUCT(p DECIMAL(38,10), q DECIMAL(38,10))[]";
export const HOUR_US = 3_600_000_000;

/** A message's levels as `{p, q}`, a price sent twice in one message kept at its last occurrence. */
const lastPerPrice = (col: string): string =>
  `list_filter(list_transform(${col}, lambda l: {'p': l.price, 'q': l.qty}),
    lambda x, i: NOT list_contains(list_transform(list_slice(${col}, i + 1, len(${col})), lambda y: y.price), x.p))`;

/** One side after a message: its levels not named by the message, plus the message's non-zero ones, best first, cut to the depth. */
const applySide = (acc: string, msg: string, order: "DESC" | "ASC"): string =>
  `list_slice(list_sort(list_concat(
      list_filter(${acc}, lambda x: NOT list_contains(list_transform(${msg}, lambda y: y.p), x.p)),
      list_filter(${msg}, lambda y: y.q > 0)), '${order}'), 1, s.depth)`;

const parquet = (files: readonly string[]): string =>
  `read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true)`;

/** The loaded events, each with its silver hour (`hour_us`, of `ts`) and its message as `{b, a}` levels. */
export function createBookEventsSql(files: readonly string[]): string {
  const source =
    files.length > 0
      ? parquet(files)
      : `(SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS session, NULL::BIGINT AS seq, NULL::VARCHAR AS type,
  NULL::INTEGER AS depth, NULL::VARCHAR AS checksum_status, NULL::TIMESTAMPTZ AS ts, NULL::TIMESTAMPTZ AS ingested_at,
  NULL::STRUCT(price DECIMAL(38,10), qty DECIMAL(38,10))[] AS bids, NULL::STRUCT(price DECIMAL(38,10), qty DECIMAL(38,10))[] AS asks WHERE false)`;
  return `CREATE OR REPLACE TEMP TABLE bk_ev AS
SELECT row_number() OVER () AS id, symbol, ${pairOfSymbolSql("symbol")} AS p_symbol, session, seq, type, depth,
  checksum_status AS status, checksum_status = 'ok' AS ok, epoch_us(ts) AS ts_us,
  epoch_us(ts) // ${HOUR_US} * ${HOUR_US} AS hour_us, epoch_us(ingested_at) - epoch_us(ts) AS lag_us,
  {'b': ${lastPerPrice("bids")}, 'a': ${lastPerPrice("asks")}} AS msg
FROM ${source}`;
}

/**
 * Each event in the window of every hour of `book_hour_list` that holds it: `sec` is the second of
 * the running max of `ts` in seq order (its effective time), `run_start` opens a run of non-ok events.
 */
export function createBookWindowsSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_evt AS
SELECT h.t_us, e.id, e.symbol, e.session, e.seq, e.ok, e.hour_us,
  max(e.ts_us) OVER w // 1000000 AS sec,
  NOT e.ok AND coalesce(lag(e.ok) OVER w, true) AS run_start
FROM (SELECT id, symbol, p_symbol, session, seq, ok, ts_us, hour_us,
    unnest([hour_us - ${HOUR_US}, hour_us, hour_us + ${HOUR_US}]) AS t_us FROM bk_ev) e
JOIN book_hour_list h ON h.p_symbol = e.p_symbol AND h.t_us = e.t_us
WINDOW w AS (PARTITION BY h.t_us, e.symbol, e.session ORDER BY e.seq ROWS UNBOUNDED PRECEDING)`;
}

/** The loaded checkpoint books (`bk_cpb`), each with its silver hour (of its `ts`, the event it was taken after). */
export function createCheckpointBooksSql(files: readonly string[]): string {
  const source =
    files.length > 0
      ? parquet(files)
      : "(SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS session, NULL::BIGINT AS seq, NULL::TIMESTAMPTZ AS ts, NULL::INTEGER AS depth, NULL::VARCHAR AS side, NULL::DECIMAL(38,10) AS price, NULL::DECIMAL(38,10) AS qty WHERE false)";
  return `CREATE OR REPLACE TEMP TABLE bk_cpb AS
SELECT symbol, ${pairOfSymbolSql("symbol")} AS p_symbol, session, seq, any_value(depth) AS depth,
  max(epoch_us(ts)) AS ts_us, max(epoch_us(ts)) // ${HOUR_US} * ${HOUR_US} AS hour_us,
  {'b': coalesce(list({'p': price, 'q': qty} ORDER BY price DESC) FILTER (WHERE side = 'bid'), []::${LEVELS}),
   'a': coalesce(list({'p': price, 'q': qty} ORDER BY price ASC) FILTER (WHERE side = 'ask'), []::${LEVELS})} AS bk
FROM ${source} GROUP BY symbol, session, seq`;
}

/**
 * `book_hours`: the seconds [from_s, to_s) each hour replays. A whole hour, all of them. Its neighbours
 * changed only at their edges (the rest of their rows kept):
 * - a confirmation hour (the next one changed) from the earliest last effective time of a session
 *   whose next event is in the next hour: that event confirms the seconds from there on, nothing
 *   before (a session without it there confirms nothing: silver partitions only ever gain events);
 * - a carried hour (the previous one changed) up to the latest first checkpoint in it of a session
 *   that comes from the previous hour: from there on its chains start in the hour.
 * Either is whole when the two hours' events interleave in a session's seq order (the changed hour
 * could move effective times or join chains anywhere in it).
 */
export function createBookHoursSql(): string {
  const start = "h.t_us // 1000000";
  const end = `(${start} + 3600)`;
  const clamp = (x: string): string => `least(greatest(${x}, ${start}), ${end})`;
  return `CREATE OR REPLACE TEMP TABLE book_hours AS
WITH s AS (
  SELECT t_us, symbol, session,
    max(seq) FILTER (WHERE hour_us < t_us) AS before_last, min(seq) FILTER (WHERE hour_us >= t_us) AS from_first,
    max(seq) FILTER (WHERE hour_us <= t_us) AS upto_last, max(sec) FILTER (WHERE hour_us <= t_us) AS upto_sec,
    min(seq) FILTER (WHERE hour_us > t_us) AS after_first
  FROM bk_evt GROUP BY t_us, symbol, session
), f AS (
  SELECT h.t_us, c.symbol, c.session, arg_min(coalesce(e.sec, c.ts_us // 1000000), c.seq) AS sec
  FROM bk_cpb c JOIN book_hour_list h ON h.p_symbol = c.p_symbol AND h.t_us = c.hour_us
  LEFT JOIN bk_evt e ON e.t_us = h.t_us AND e.symbol = c.symbol AND e.session = c.session AND e.seq = c.seq
  GROUP BY h.t_us, c.symbol, c.session
), n AS (
  SELECT t_us, symbol, session, seq FROM bk_evt WHERE hour_us > t_us
), c AS (
  SELECT ${pairOfSymbolSql("s.symbol")} AS p_symbol, s.t_us,
    coalesce(bool_or(s.after_first <= s.upto_last), false) AS confirm_reordered,
    min(s.upto_sec) FILTER (WHERE n.seq IS NOT NULL) AS confirm_from,
    coalesce(bool_or(s.from_first <= s.before_last), false) AS carry_reordered,
    max(coalesce(f.sec, s.t_us // 1000000 + 3600)) FILTER (WHERE s.before_last IS NOT NULL AND s.from_first IS NOT NULL) AS carry_to
  FROM s LEFT JOIN f ON f.t_us = s.t_us AND f.symbol = s.symbol AND f.session = s.session
  LEFT JOIN n ON n.t_us = s.t_us AND n.symbol = s.symbol AND n.session = s.session AND n.seq = s.upto_last + 1
  GROUP BY ALL
)
SELECT h.p_symbol, h.t_us, h.kind,
  CASE WHEN h.kind = 'confirm' AND NOT coalesce(c.confirm_reordered, false)
    THEN ${clamp(`coalesce(c.confirm_from, ${end})`)} ELSE ${start} END AS from_s,
  CASE WHEN h.kind = 'carry' AND NOT coalesce(c.carry_reordered, false)
    THEN ${clamp(`coalesce(c.carry_to, ${start})`)} ELSE ${end} END AS to_s
FROM book_hour_list h LEFT JOIN c ON c.p_symbol = h.p_symbol AND c.t_us = h.t_us`;
}

/**
 * Checkpoint books that start a chain an hour replays: the last one before its `from_s` and every one
 * after it up to `to_s`. A checkpoint's second and verification are those of the event it was taken
 * after (unknown, hence not ok, when that event is not in the window).
 */
export function createBookCheckpointsSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_cp AS
WITH ct AS (
  SELECT h.t_us, h.from_s, h.to_s, c.symbol, c.session, c.seq, c.depth,
    coalesce(e.sec, c.ts_us // 1000000) AS sec, coalesce(e.ok, false) AS ok, c.bk
  FROM (SELECT *, unnest([hour_us, hour_us + ${HOUR_US}]) AS t_us FROM bk_cpb) c
  JOIN book_hours h ON h.p_symbol = c.p_symbol AND h.t_us = c.t_us
  LEFT JOIN bk_evt e ON e.t_us = h.t_us AND e.symbol = c.symbol AND e.session = c.session AND e.seq = c.seq
  WHERE h.from_s < h.to_s
), r AS (
  SELECT *, max(seq) FILTER (WHERE sec < from_s) OVER (PARTITION BY t_us, symbol, session) AS first_seq FROM ct
)
SELECT t_us, to_s, symbol, session, seq, depth, sec, ok, bk FROM r
WHERE seq >= coalesce(first_seq, -1) AND sec < to_s`;
}

/**
 * Each event after a checkpoint joins that checkpoint's chain (none of the next hour can: its effective
 * time is past the hour); a chain's messages are grouped by second (step k).
 */
export function createBookSecondsSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_sec AS
WITH e AS (
  SELECT e.t_us, e.id, e.symbol, e.session, e.seq, e.sec, e.ok, c.seq AS cp_seq,
    e.seq - c.seq = row_number() OVER (PARTITION BY e.t_us, e.symbol, e.session, c.seq ORDER BY e.seq) AS contiguous
  FROM (
    SELECT e.* FROM bk_evt e
    JOIN (SELECT t_us, symbol, session, min(seq) AS seq FROM bk_cp GROUP BY ALL) f
      ON f.t_us = e.t_us AND f.symbol = e.symbol AND f.session = e.session
    WHERE e.seq > f.seq AND e.hour_us <= e.t_us
  ) e
  ASOF JOIN bk_cp c ON c.t_us = e.t_us AND c.symbol = e.symbol AND c.session = e.session AND e.seq > c.seq
  WHERE e.sec < c.to_s
)
SELECT e.t_us, e.symbol, e.session, e.cp_seq, e.sec,
  dense_rank() OVER (PARTITION BY e.t_us, e.symbol, e.session, e.cp_seq ORDER BY e.sec) AS k,
  max(e.seq) AS last_seq, bool_and(e.ok AND e.contiguous) AS ok, list(m.msg ORDER BY e.seq) AS msgs
FROM e JOIN bk_ev m ON m.id = e.id
GROUP BY e.t_us, e.symbol, e.session, e.cp_seq, e.sec
ORDER BY k`;
}

/** The fold's step 0: each chain's checkpoint book. */
export function createBookStatesSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_state AS
SELECT t_us, symbol, session, seq AS cp_seq, 0::BIGINT AS k, sec, seq AS last_seq, ok, depth, bk FROM bk_cp`;
}

/** Step k of the fold: every chain's book after its k-th second, from the book after its (k−1)-th. */
export function stepBookStatesSql(k: number): string {
  return `INSERT INTO bk_state
SELECT s.t_us, s.symbol, s.session, s.cp_seq, g.k, g.sec, g.last_seq, s.ok AND g.ok, s.depth,
  list_reduce(g.msgs, lambda acc, m: {
    'b': ${applySide("acc.b", "m.b", "DESC")},
    'a': ${applySide("acc.a", "m.a", "ASC")}
  }, s.bk)
FROM (SELECT * FROM bk_state WHERE k = ${k - 1}) s
JOIN (SELECT * FROM bk_sec WHERE k = ${k}) g
  ON g.t_us = s.t_us AND g.symbol = s.symbol AND g.session = s.session AND g.cp_seq = s.cp_seq`;
}

/**
 * Per symbol and second of `book_hours` in [from_s, to_s), the known book: the state after the last
 * event at or before the second's end, every event up to it verified, and the session's next event
 * present and verified. Two states of one second (a chain's last and the next checkpoint's): the later
 * checkpoint's. Two sessions knowing one second (never seen): the later state wins.
 */
/**
 * `bk_spans`: each book state that holds for a while (until the next event of its session), with
 * the book itself, once; `bk_known` refers to a span per second, so per-second rows never copy a book.
 */
export function createBookSpansSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_spans AS
WITH st AS (
  SELECT DISTINCT ON (t_us, symbol, session, sec) * FROM bk_state
  ORDER BY t_us, symbol, session, sec, last_seq DESC, cp_seq DESC
)
SELECT row_number() OVER () AS span, st.t_us, st.symbol, st.session, st.last_seq, st.sec, n.sec AS end_sec,
  st.bk, h.from_s, h.to_s
FROM st
JOIN bk_evt n ON n.t_us = st.t_us AND n.symbol = st.symbol AND n.session = st.session AND n.seq = st.last_seq + 1
JOIN book_hours h ON h.t_us = st.t_us AND h.p_symbol = ${pairOfSymbolSql("st.symbol")}
WHERE st.ok AND n.ok AND st.sec < h.to_s AND n.sec > h.from_s`;
}

export function createKnownBookSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_known AS
WITH seconds AS (
  SELECT span, t_us, symbol, session, last_seq, sec AS from_sec,
    unnest(generate_series(greatest(sec, from_s), least(end_sec, to_s) - 1)) AS sec
  FROM bk_spans
), updates AS (
  SELECT t_us, symbol, session, sec, count(*)::BIGINT AS n FROM bk_evt
  WHERE sec * 1000000 >= t_us AND sec * 1000000 < t_us + ${HOUR_US} GROUP BY ALL
)
SELECT s.symbol, s.sec, s.session, s.last_seq AS seq, s.span, coalesce(u.n, 0)::BIGINT AS updates
FROM (SELECT DISTINCT ON (symbol, sec) * FROM seconds ORDER BY symbol, sec, from_sec DESC, session DESC) s
LEFT JOIN updates u ON u.t_us = s.t_us AND u.symbol = s.symbol AND u.session = s.session AND u.sec = s.sec`;
}
