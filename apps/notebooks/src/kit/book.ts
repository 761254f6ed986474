/**
 * The order book of a symbol at an instant, for notebooks: silver's book events and checkpoints
 * replayed by the one rebuild the lake's tests check (shared/src/book/rebuild.ts). Prices and
 * quantities stay exact decimal strings; `complete` says whether the lake knows the book at that
 * instant (false inside a gap: a WebSocket drop, a restart or a checksum mismatch).
 */
import { type RebuiltBook, rebuildBookAt } from "@tributary/shared/book/rebuild";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { type Lake, LakeError } from "./lake.ts";

export type { RebuiltBook } from "@tributary/shared/book/rebuild";

const EVENTS = "kraken_book_events";
const CHECKPOINTS = "kraken_book_checkpoints";

/**
 * The book of `symbol` at `at` (RFC 3339 UTC, or epoch µs as a bigint), or undefined when no book
 * session of that symbol had started by then. Throws a LakeError naming what is missing when the lake
 * holds no silver book.
 */
export async function bookAt(
  lake: Lake,
  symbol: string,
  at: string | bigint,
): Promise<RebuiltBook | undefined> {
  for (const dataset of [EVENTS, CHECKPOINTS])
    if (!lake.has("silver", dataset))
      throw new LakeError(
        `the lake ${lake.uri} has no silver/${dataset}: the book is ingested with KRAKEN_BOOK_DEPTH set and landed by the silver.book job`,
      );
  const atUs = typeof at === "bigint" ? at : parseRfc3339Micros(at);
  const rows = (sql: string) => lake.query<Record<string, unknown>>(sql);
  return rebuildBookAt(
    rows,
    { events: `silver.${EVENTS}`, checkpoints: `silver.${CHECKPOINTS}` },
    symbol,
    atUs,
  );
}
