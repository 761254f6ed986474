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
 * Tables, in order: `bk_ev` (events with their effective second), `bk_cp` (checkpoint books),
 * `bk_sec` (a chain's messages grouped by second), `bk_state` (the book after each such second),
 * `bk_known` (per symbol and second of the days in `book_days`, the known book: see docs/datasets.md).
 */
import { pairOfSymbolSql } from "@tributary/shared/lake/layout";
import { sqlStringList } from "../../runtime/duckdb.ts";

const LEVELS = "STRUCT(p DECIMAL(38,10), q DECIMAL(38,10))[]";

/** A message's levels as `{p, q}`, a price sent twice in one message kept at its last occurrence. */
const lastPerPrice = (col: string): string =>
  `list_filter(list_transform(${col}, lambda l: {'p': l.price, 'q': l.qty}),
    lambda x, i: NOT list_contains(list_transform(list_slice(${col}, i + 1, len(${col})), lambda y: y.price), x.p))`;

/** One side after a message: its levels not named by the message, plus the message's non-zero ones, best first, cut to the depth. */
const applySide = (acc: string, msg: string, order: "DESC" | "ASC"): string =>
  `list_slice(list_sort(list_concat(
      list_filter(${acc}, lambda x: NOT list_contains(list_transform(${msg}, lambda y: y.p), x.p)),
      list_filter(${msg}, lambda y: y.q > 0)), '${order}'), 1, s.depth)`;

/** Events of the loaded files; `sec` is the second of the running max of `ts` in seq order (its effective time). */
export function createBookEventsSql(files: readonly string[]): string {
  const source =
    files.length > 0
      ? `read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true)`
      : `(SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS session, NULL::BIGINT AS seq, NULL::VARCHAR AS type,
  NULL::INTEGER AS depth, NULL::VARCHAR AS checksum_status, NULL::TIMESTAMPTZ AS ts, NULL::TIMESTAMPTZ AS ingested_at,
  NULL::STRUCT(price DECIMAL(38,10), qty DECIMAL(38,10))[] AS bids, NULL::STRUCT(price DECIMAL(38,10), qty DECIMAL(38,10))[] AS asks WHERE false)`;
  return `CREATE OR REPLACE TEMP TABLE bk_ev AS
SELECT symbol, session, seq, type, depth, checksum_status AS status, checksum_status = 'ok' AS ok,
  epoch_us(ts) // 3600000000 * 3600000000 AS hour_us, epoch_us(ingested_at) - epoch_us(ts) AS lag_us,
  max(epoch_us(ts)) OVER (PARTITION BY symbol, session ORDER BY seq ROWS UNBOUNDED PRECEDING) // 1000000 AS sec,
  {'b': ${lastPerPrice("bids")}, 'a': ${lastPerPrice("asks")}} AS msg
FROM ${source}`;
}

/**
 * Checkpoint books, each the start of a chain: its second and verification are those of the event it
 * was taken after (unknown, hence not ok, when that event lies outside the loaded hours).
 */
export function createBookCheckpointsSql(files: readonly string[]): string {
  const source =
    files.length > 0
      ? `read_parquet(${sqlStringList(files)}, hive_partitioning = false, union_by_name = true)`
      : "(SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS session, NULL::BIGINT AS seq, NULL::TIMESTAMPTZ AS ts, NULL::INTEGER AS depth, NULL::VARCHAR AS side, NULL::DECIMAL(38,10) AS price, NULL::DECIMAL(38,10) AS qty WHERE false)";
  return `CREATE OR REPLACE TEMP TABLE bk_cp AS
WITH c AS (
  SELECT symbol, session, seq, any_value(depth) AS depth, max(epoch_us(ts)) AS ts_us,
    coalesce(list({'p': price, 'q': qty} ORDER BY price DESC) FILTER (WHERE side = 'bid'), []::${LEVELS}) AS b,
    coalesce(list({'p': price, 'q': qty} ORDER BY price ASC) FILTER (WHERE side = 'ask'), []::${LEVELS}) AS a
  FROM ${source} GROUP BY symbol, session, seq
)
SELECT c.symbol, c.session, c.seq, c.depth, coalesce(e.sec, c.ts_us // 1000000) AS sec,
  coalesce(e.ok, false) AS ok, {'b': c.b, 'a': c.a} AS bk
FROM c LEFT JOIN bk_ev e ON e.symbol = c.symbol AND e.session = c.session AND e.seq = c.seq`;
}

/** Each event after a checkpoint joins that checkpoint's chain; a chain's messages are grouped by second (step k). */
export function createBookSecondsSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_sec AS
WITH e AS (
  SELECT e.*, c.seq AS cp_seq,
    e.seq - c.seq = row_number() OVER (PARTITION BY e.symbol, e.session, c.seq ORDER BY e.seq) AS contiguous
  FROM bk_ev e ASOF JOIN bk_cp c ON c.symbol = e.symbol AND c.session = e.session AND e.seq > c.seq
)
SELECT symbol, session, cp_seq, sec,
  dense_rank() OVER (PARTITION BY symbol, session, cp_seq ORDER BY sec) AS k,
  max(seq) AS last_seq, bool_and(ok AND contiguous) AS ok, list(msg ORDER BY seq) AS msgs
FROM e GROUP BY symbol, session, cp_seq, sec
ORDER BY k`;
}

/** The fold's step 0: each chain's checkpoint book. */
export function createBookStatesSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_state AS
SELECT symbol, session, seq AS cp_seq, 0::BIGINT AS k, sec, seq AS last_seq, ok, depth, bk FROM bk_cp`;
}

/** Step k of the fold: every chain's book after its k-th second, from the book after its (k−1)-th. */
export function stepBookStatesSql(k: number): string {
  return `INSERT INTO bk_state
SELECT s.symbol, s.session, s.cp_seq, g.k, g.sec, g.last_seq, s.ok AND g.ok, s.depth,
  list_reduce(g.msgs, lambda acc, m: {
    'b': ${applySide("acc.b", "m.b", "DESC")},
    'a': ${applySide("acc.a", "m.a", "ASC")}
  }, s.bk)
FROM (SELECT * FROM bk_state WHERE k = ${k - 1}) s
JOIN (SELECT * FROM bk_sec WHERE k = ${k}) g ON g.symbol = s.symbol AND g.session = s.session AND g.cp_seq = s.cp_seq`;
}

/**
 * Per symbol and second of `book_days` (p_symbol, day), the known book: the state after the last
 * event at or before the second's end, every event up to it verified, and the session's next event
 * present and verified. Two sessions knowing one second (never seen): the later state wins.
 */
export function createKnownBookSql(): string {
  return `CREATE OR REPLACE TEMP TABLE bk_known AS
WITH st AS (
  SELECT DISTINCT ON (symbol, session, sec) * FROM bk_state ORDER BY symbol, session, sec, last_seq DESC
), spans AS (
  SELECT st.symbol, st.session, st.last_seq, st.sec, n.sec AS end_sec, st.bk, d.day_s, d.day_s + 86400 AS day_e
  FROM st
  JOIN bk_ev n ON n.symbol = st.symbol AND n.session = st.session AND n.seq = st.last_seq + 1
  JOIN book_days d ON d.p_symbol = ${pairOfSymbolSql("st.symbol")}
  WHERE st.ok AND n.ok AND st.sec < d.day_s + 86400 AND n.sec > d.day_s
), seconds AS (
  SELECT symbol, session, last_seq, sec AS from_sec, bk,
    unnest(generate_series(greatest(sec, day_s), least(end_sec, day_e) - 1)) AS sec
  FROM spans
), updates AS (
  SELECT symbol, session, sec, count(*)::BIGINT AS n FROM bk_ev GROUP BY ALL
)
SELECT s.symbol, s.sec, s.session, s.last_seq AS seq, s.bk, coalesce(u.n, 0)::BIGINT AS updates
FROM (SELECT DISTINCT ON (symbol, sec) * FROM seconds ORDER BY symbol, sec, from_sec DESC, session DESC) s
LEFT JOIN updates u ON u.symbol = s.symbol AND u.session = s.session AND u.sec = s.sec`;
}
