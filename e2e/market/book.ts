/**
 * The order book two ways, for the book's end-to-end test: rebuilt from the lake's silver book (the
 * one rebuild the notebooks' `bookAt` runs, shared/src/book/rebuild.ts, over both datasets loaded
 * once into DuckDB), and the simulator's own book; both as exact decimal strings at the lake's
 * DECIMAL(38,10) scale, so they compare as text.
 */

import type { KrakenSimulator } from "@tributary/ingest/simulator/server";
import { sqlString } from "@tributary/lake/runtime/duckdb";
import { type LakeJobEnv, openJobDuck } from "@tributary/lake/runtime/env";
import { LakeReader } from "@tributary/lake/runtime/lake-reader";
import { SILVER } from "@tributary/lake/silver/datasets";
import { type RebuiltBook, rebuildBookAt } from "@tributary/shared/book/rebuild";
import type { BookLevel } from "@tributary/shared/contracts/book";
import { toScale } from "@tributary/shared/decimal";

/** The scale of silver's DECIMAL(38,10) prices and quantities. */
const LAKE_SCALE = 10;

export interface BookSides {
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
}

/** Silver's book events and checkpoints, loaded once; `at` rebuilds a symbol's book at an instant. */
export interface SilverBook extends Disposable {
  at(symbol: string, atUs: bigint): Promise<RebuiltBook | undefined>;
  /** One row per symbol: its sessions, events, and events whose checksum did not match. */
  summary(): Promise<{ symbol: string; sessions: number; events: number; mismatches: number }[]>;
}

export async function openSilverBook(env: LakeJobEnv): Promise<SilverBook> {
  const reader = new LakeReader(env.store, env.scratchDir);
  const duck = await openJobDuck(env);
  const close = (): void => {
    duck.close();
    reader[Symbol.dispose]();
  };
  try {
    for (const [table, dataset] of [
      ["book_events", SILVER.bookEvents],
      ["book_checkpoints", SILVER.bookCheckpoints],
    ] as const) {
      const keys = await reader.parquetKeys(`silver/${dataset}/`);
      if (keys.length === 0) throw new Error(`the lake holds no silver/${dataset}`);
      const files = (await reader.paths(keys)).map(sqlString).join(", ");
      await duck.run(
        `CREATE TABLE ${table} AS SELECT * FROM read_parquet([${files}], hive_partitioning = false, union_by_name = true)`,
      );
    }
  } catch (err) {
    close();
    throw err;
  }
  return {
    at: (symbol, atUs) =>
      rebuildBookAt(
        (sql) => duck.rows(sql),
        { events: "book_events", checkpoints: "book_checkpoints" },
        symbol,
        atUs,
      ),
    summary: async () =>
      (
        await duck.rows(`SELECT symbol, count(DISTINCT session)::INT AS sessions, count(*)::INT AS events,
  count(*) FILTER (WHERE checksum_status = 'mismatch')::INT AS mismatches
FROM book_events GROUP BY symbol ORDER BY symbol`)
      ).map((r) => ({
        symbol: String(r.symbol),
        sessions: Number(r.sessions),
        events: Number(r.events),
        mismatches: Number(r.mismatches),
      })),
    [Symbol.dispose]: close,
  };
}

/** The simulator's top `depth` levels of `symbol` at `atUs`, at the lake's scale (needs `bookTruth`). */
export function simulatorBookAt(
  sim: KrakenSimulator,
  symbol: string,
  atUs: bigint,
  depth: number,
): BookSides | undefined {
  const book = sim.bookAt(symbol, atUs, depth);
  if (!book) return undefined;
  const scaled = (levels: readonly BookLevel[]): BookLevel[] =>
    levels.map(([p, q]) => [toScale(p, LAKE_SCALE), toScale(q, LAKE_SCALE)] as const);
  return { bids: scaled(book.bids), asks: scaled(book.asks) };
}
