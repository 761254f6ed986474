/**
 * The book of a symbol at an instant, rebuilt from silver: the session holding the last event at or
 * before the instant, its nearest checkpoint at or before it, then that session's events in seq order
 * up to the instant. `complete` says whether the lake knows the book at that instant: every event of
 * the session up to it verified, and the session's next event exists and verified too (so nothing
 * was lost in between: after a WebSocket drop, a restart or a checksum mismatch the instant is a gap).
 * Queries go through `query` over the two datasets' relations, so the notebooks' kit and the lake's
 * tests read the same way.
 */
import type { BookLevel } from "../contracts/book.ts";
import { OrderBook } from "./order-book.ts";

export interface BookRelations {
  /** SQL relation of silver `kraken_book_events` (e.g. `read_parquet('…/**\/*.parquet')`). */
  readonly events: string;
  /** SQL relation of silver `kraken_book_checkpoints`. */
  readonly checkpoints: string;
}

export type RowsQuery = (sql: string) => Promise<Record<string, unknown>[]>;

export interface RebuiltBook {
  readonly symbol: string;
  readonly session: string;
  /** seq and time (µs) of the last event applied. */
  readonly seq: number;
  readonly tsUs: bigint;
  readonly depth: number;
  /** Best first, at DECIMAL(38,10) scale. */
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
  readonly complete: boolean;
}

const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const at = (us: bigint): string => `make_timestamptz(${us}::BIGINT)`;

/** The rebuilt book, or undefined when no session of `symbol` had started by `atUs`. */
export async function rebuildBookAt(
  query: RowsQuery,
  rel: BookRelations,
  symbol: string,
  atUs: bigint,
): Promise<RebuiltBook | undefined> {
  const [last] = await query(`SELECT session FROM ${rel.events}
WHERE symbol = ${sqlText(symbol)} AND ts <= ${at(atUs)} ORDER BY ts DESC, seq DESC LIMIT 1`);
  if (!last) return undefined;
  const session = String(last.session);
  const cp =
    await query(`SELECT seq, depth, side, price::VARCHAR AS price, qty::VARCHAR AS qty FROM ${rel.checkpoints}
WHERE symbol = ${sqlText(symbol)} AND session = ${sqlText(session)}
  AND seq = (SELECT max(seq) FROM ${rel.checkpoints} WHERE symbol = ${sqlText(symbol)} AND session = ${sqlText(session)} AND ts <= ${at(atUs)})
ORDER BY side, level`);
  const from = cp.length ? Number(cp[0]?.seq) : -1;
  const events = await query(`SELECT seq, depth, checksum_status AS status, epoch_us(ts)::VARCHAR AS ts_us,
  list_transform(bids, lambda l: [l.price::VARCHAR, l.qty::VARCHAR]) AS bids,
  list_transform(asks, lambda l: [l.price::VARCHAR, l.qty::VARCHAR]) AS asks
FROM ${rel.events} WHERE symbol = ${sqlText(symbol)} AND session = ${sqlText(session)} AND seq > ${from}
ORDER BY seq`);
  const [prefix] =
    await query(`SELECT count(*) FILTER (WHERE checksum_status <> 'ok')::BIGINT AS bad, count(*)::BIGINT AS n
FROM ${rel.events} WHERE symbol = ${sqlText(symbol)} AND session = ${sqlText(session)} AND seq <= ${Math.max(from, 0)}`);
  const depth = Number(cp[0]?.depth ?? events[0]?.depth ?? 10);
  const book = new OrderBook(depth);
  book.apply(
    cp.filter((r) => r.side === "bid").map((r) => [String(r.price), String(r.qty)] as const),
    cp.filter((r) => r.side === "ask").map((r) => [String(r.price), String(r.qty)] as const),
  );
  let seq = from;
  let tsUs = -1n;
  let expected = from + 1;
  let verified = Number(prefix?.bad ?? 0) === 0 && (from < 0 || Number(prefix?.n ?? 0) === from + 1);
  let next: Record<string, unknown> | undefined;
  for (const e of events) {
    const ts = BigInt(String(e.ts_us));
    if (ts > atUs || Number(e.seq) !== expected) {
      next = Number(e.seq) === expected ? e : undefined;
      break;
    }
    book.apply(e.bids as BookLevel[], e.asks as BookLevel[]);
    if (e.status !== "ok") verified = false;
    seq = Number(e.seq);
    tsUs = ts;
    expected++;
  }
  if (from >= 0 && tsUs < 0n) {
    const [c] = await query(`SELECT epoch_us(ts)::VARCHAR AS ts_us FROM ${rel.checkpoints}
WHERE symbol = ${sqlText(symbol)} AND session = ${sqlText(session)} AND seq = ${from} LIMIT 1`);
    tsUs = BigInt(String(c?.ts_us ?? "-1"));
  }
  return {
    symbol,
    session,
    seq,
    tsUs,
    depth,
    bids: book.bids.levels(),
    asks: book.asks.levels(),
    complete: verified && seq >= 0 && next !== undefined && next.status === "ok",
  };
}
