/**
 * Full-book checkpoints of the silver book: replays each symbol's session in seq order and emits the
 * whole book (every level, both sides) at its snapshot and, when an event opens a new UTC minute, as it
 * stood after the previous event. The rule depends only on consecutive events, never on how bronze was
 * batched, so re-runs give the same rows. The open books travel between runs in the job's state.
 */
import { OrderBook } from "@tributary/shared/book/order-book";
import type { BookLevel } from "@tributary/shared/contracts/book";
import { isRecord } from "../runtime/job-state.ts";

const MINUTE_US = 60_000_000n;

/** One silver book event as the replay needs it (prices and quantities at DECIMAL(38,10) scale). */
export interface ReplayEvent {
  readonly symbol: string;
  readonly session: string;
  readonly seq: number;
  readonly depth: number;
  readonly tsUs: bigint;
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

export interface CheckpointRow {
  readonly symbol: string;
  readonly session: string;
  readonly seq: number;
  /** µs of the last event applied. */
  readonly ts_us: string;
  readonly depth: number;
  readonly side: "bid" | "ask";
  /** 1 = best. */
  readonly level: number;
  readonly price: string;
  readonly qty: string;
}

/** The book of a symbol's current session after its last replayed event (persisted between runs). */
interface OpenBook {
  session: string;
  seq: number;
  tsUs: string;
  depth: number;
  lastCheckpointSeq: number;
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface CheckpointState {
  readonly v: 1;
  readonly books: Record<string, OpenBook>;
}

export function isCheckpointState(value: unknown): value is CheckpointState {
  return isRecord(value) && value.v === 1 && isRecord(value.books);
}

export class CheckpointReplay {
  private readonly open = new Map<string, { meta: OpenBook; book: OrderBook }>();
  readonly rows: CheckpointRow[] = [];
  /** Sessions skipped because their snapshot or an event in between was never seen. */
  skipped = 0;

  constructor(state?: CheckpointState) {
    for (const [symbol, meta] of Object.entries(state?.books ?? {})) {
      const book = new OrderBook(meta.depth);
      book.apply(meta.bids, meta.asks);
      this.open.set(symbol, { meta, book });
    }
  }

  /** Events of each symbol must come in (session, seq) order. */
  apply(e: ReplayEvent): void {
    let cur = this.open.get(e.symbol);
    if (!cur || cur.meta.session !== e.session) {
      if (e.seq !== 0) {
        this.skipped++;
        return;
      }
      cur = {
        meta: {
          session: e.session,
          seq: -1,
          tsUs: "0",
          depth: e.depth,
          lastCheckpointSeq: -1,
          bids: [],
          asks: [],
        },
        book: new OrderBook(e.depth),
      };
      this.open.set(e.symbol, cur);
    } else if (e.seq <= cur.meta.seq)
      return; // seen in an earlier run
    else if (e.seq !== cur.meta.seq + 1) {
      this.open.delete(e.symbol);
      this.skipped++;
      return;
    }
    const { meta, book } = cur;
    if (meta.seq >= 0 && e.tsUs / MINUTE_US > BigInt(meta.tsUs) / MINUTE_US) this.checkpoint(e.symbol, cur);
    book.apply(e.bids, e.asks);
    meta.seq = e.seq;
    meta.tsUs = e.tsUs.toString();
    if (e.seq === 0) this.checkpoint(e.symbol, cur);
  }

  private checkpoint(symbol: string, cur: { meta: OpenBook; book: OrderBook }): void {
    const { meta, book } = cur;
    if (meta.lastCheckpointSeq === meta.seq) return;
    meta.lastCheckpointSeq = meta.seq;
    for (const side of [book.bids, book.asks]) {
      side.prices.forEach((price, i) => {
        this.rows.push({
          symbol,
          session: meta.session,
          seq: meta.seq,
          ts_us: meta.tsUs,
          depth: meta.depth,
          side: side.kind,
          level: i + 1,
          price,
          qty: side.qtys[i] as string,
        });
      });
    }
  }

  state(): CheckpointState {
    const books: Record<string, OpenBook> = {};
    for (const [symbol, { meta, book }] of this.open)
      books[symbol] = { ...meta, bids: book.bids.levels(), asks: book.asks.levels() };
    return { v: 1, books };
  }
}
