/**
 * The one lake fixture of every app's tests: deterministic bronze (Kraken trades and tickers, and the
 * Tesouro table's CDC snapshot) committed as the bronze writer commits it, then the real silver and
 * gold jobs run over it. Silver and gold therefore always have the jobs' own schemas: a schema change
 * reaches every fixture. Prices follow smooth waves plus fixed pseudo-noise; a few trade ids are
 * skipped so gap checks have something to find. On request it also lands a synthetic order book
 * (book-market.ts, with its checksum mismatch and WebSocket drop) over the window's last minutes.
 * Runnable: `bun apps/lake/src/testing/lake-fixture.ts <dir> [hours] [book minutes]`.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  CDC_CONNECTOR,
  CDC_SOURCE_VERSION,
  type CdcEnvelope,
  type CdcRow,
} from "@tributary/shared/contracts/cdc";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import type { IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runGoldBook } from "../gold/book/book.ts";
import { runGoldMarket } from "../gold/market/market.ts";
import { runTesouroGold } from "../gold/tesouro/tesouro.ts";
import { openDuckSession, sqlString } from "../runtime/duckdb.ts";
import type { LakeJobEnv } from "../runtime/env.ts";
import { runSilverBook } from "../silver/book.ts";
import { runCdcSilver } from "../silver/cdc/replay.ts";
import { cdcDatasetName, tesouroTable } from "../silver/cdc/tables.ts";
import { runSilverTicker } from "../silver/ticker.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { bookMarketMessages } from "./book-market.ts";
import { type BronzeRecord, commitBronze } from "./bronze-fixture.ts";

export interface LakeFixtureOptions {
  /** First hour, RFC 3339 UTC (default Monday 2024-03-04T00:00:00Z). */
  readonly start?: string;
  readonly hours?: number;
  readonly symbols?: readonly string[];
  /** Seconds between trades per symbol. */
  readonly tradeEverySeconds?: number;
  /** Write the Tesouro Direto table's CDC snapshot and run its silver and gold (default true). */
  readonly tesouro?: boolean;
  /**
   * Also land the synthetic order book of book-market.ts (BTC/USD and ETH/USD, whatever `symbols` says)
   * over the last `minutes` of the window and run the silver and gold book jobs (default: no book).
   */
  readonly book?: { readonly minutes: number; readonly meanGapMs?: number };
  /** The catalog the jobs commit their tables through (default: the embedded one). */
  readonly catalog?: IcebergCatalog;
  /**
   * Also land the Tesouro rows as a table without a primary key (`public.tesouro_prices_log`: no
   * event carries a key) and run its CDC silver, a multiset (default: no).
   */
  readonly keylessCdc?: boolean;
}

export interface LakeFixture {
  readonly dir: string;
  readonly start: string;
  readonly hours: number;
  readonly symbols: readonly string[];
  /** Trades in bronze (and in silver: the fixture has no duplicates or invalid trades). */
  readonly trades: number;
  /** Trade ids left out of the sequences, which gold's quality counts as missing. */
  readonly skippedTradeIds: number;
  /** `kraken.book` messages in bronze (0 without the `book` option). */
  readonly bookMessages: number;
}

const BASE_PRICE: Readonly<Record<string, number>> = { "BTC/USD": 65000, "ETH/USD": 3500 };
/** One trade id in every SKIP_EVERY is never traded. */
const SKIP_EVERY = 4000;

export async function buildLakeFixture(dir: string, options: LakeFixtureOptions = {}): Promise<LakeFixture> {
  const start = options.start ?? "2024-03-04T00:00:00Z";
  const hours = options.hours ?? 48;
  const symbols = options.symbols ?? ["BTC/USD", "ETH/USD"];
  const every = options.tradeEverySeconds ?? 10;
  const n = hours * Math.floor(3600 / every);
  const env = { ...fixtureEnv(dir), ...(options.catalog ? { catalog: options.catalog } : {}) };
  const { commitLog } = env;
  const { trades, tickers } = await marketMessages(start, symbols, n, every);
  await commitBronze(commitLog, trades, { dataset: "kraken_trades" });
  await commitBronze(commitLog, tickers, { dataset: "kraken_ticker" });
  await runSilverTrades(env);
  await runSilverTicker(env);
  await runGoldMarket(env, { graceMinutes: 5 });
  if (options.tesouro !== false) await landTesouroSnapshot(env, tesouroRows(), parseRfc3339Micros(start));
  if (options.keylessCdc) {
    const keyless = tesouroTable("public", "tesouro_prices_log");
    await commitBronze(
      commitLog,
      tesouroSnapshot(tesouroRows(), parseRfc3339Micros(start), keyless).map((r) => ({ ...r, key: null })),
      { dataset: cdcDatasetName(keyless) },
    );
    await runCdcSilver(env, keyless);
  }
  const bookMessages = options.book ? await landBookMarket(env, start, hours, options.book) : 0;
  return {
    dir,
    start,
    hours,
    symbols,
    trades: trades.length,
    skippedTradeIds: symbols.length * n - trades.length,
    bookMessages,
  };
}

/** The synthetic book market over the window's last `minutes`, through bronze and the silver and gold book jobs. */
async function landBookMarket(
  env: LakeJobEnv,
  start: string,
  hours: number,
  book: NonNullable<LakeFixtureOptions["book"]>,
): Promise<number> {
  const minutes = Math.min(book.minutes, hours * 60);
  const end = parseRfc3339Micros(start) + BigInt(hours) * 3_600_000_000n;
  const market = bookMarketMessages({
    seed: 19,
    startMicros: end - BigInt(minutes) * 60_000_000n,
    minutes,
    meanGapMs: book.meanGapMs ?? 1000,
  });
  const records: BronzeRecord[] = market.map((m, offset) => ({
    topic: "kraken.book",
    partition: 0,
    offset,
    key: (JSON.parse(m.json) as { symbol: string }).symbol,
    value: m.json,
    ingestedAt: m.tsMicros + 200_000n,
  }));
  await commitBronze(env.commitLog, records, { dataset: "kraken_book" });
  await runSilverBook(env);
  await runGoldBook(env);
  return records.length;
}

/** A quiet job environment over a local lake in `dir` (created). */
export function fixtureEnv(dir: string): LakeJobEnv {
  const store = new LocalLakeStore(dir);
  mkdirSync(dir, { recursive: true });
  return {
    store,
    commitLog: new CommitLog(store),
    log: createLogger("lake-fixture", "error"),
    scratchDir: join(dir, "_tributary", "fixture-scratch"),
    duck: { threads: 2, memoryLimitMb: 1024 },
  };
}

/**
 * Commits `rows` of the Tesouro table as one CDC snapshot (the envelopes `bun run cdc` writes, at
 * `atMicros`) and runs the real CDC silver and Tesouro gold jobs over it.
 */
export async function landTesouroSnapshot(
  env: LakeJobEnv,
  rows: readonly CdcRow[],
  atMicros: bigint,
): Promise<void> {
  const table = tesouroTable();
  await commitBronze(env.commitLog, tesouroSnapshot(rows, atMicros), { dataset: cdcDatasetName(table) });
  await runCdcSilver(env, table);
  await runTesouroGold(env, table);
}

/** Trade and ticker messages as the ingester sends them (contract JSON), one Kafka partition per symbol. */
async function marketMessages(
  start: string,
  symbols: readonly string[],
  n: number,
  every: number,
): Promise<{ trades: BronzeRecord[]; tickers: BronzeRecord[] }> {
  using duck = await openDuckSession();
  const symbolRows = symbols
    .map((s, k) => `(${sqlString(s)}, ${k}, ${BASE_PRICE[s] ?? 100 * (k + 1)})`)
    .join(", ");
  await duck.run(
    `CREATE TABLE syms(symbol VARCHAR, k INTEGER, base DOUBLE); INSERT INTO syms VALUES ${symbolRows}`,
  );
  const t0 = `TIMESTAMPTZ ${sqlString(start)}`;
  const iso = (ts: string): string => `strftime(${ts}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  const trades = await duck.rows(`
    WITH g AS (
      SELECT s.symbol, s.k, s.base, i, (sin(i * 12.9898 + s.k * 78.233) * 43758.5453) AS h
      FROM syms s, range(${n}) r(i)
    ), f AS (SELECT *, h - floor(h) AS u FROM g), t AS (
      SELECT symbol, k, i, (1000000 + i)::BIGINT AS trade_id,
        round(base * (1 + 0.02 * sin(i / 900.0 + k) + 0.004 * sin(i / 37.0) + 0.0015 * (u - 0.5)), 2)::DECIMAL(18,2) AS price,
        round(0.0004 + 2.0 * pow(u, 7) + 0.01 * ((i * 7) % 13), 8)::DECIMAL(18,8) AS qty,
        CASE WHEN ((i * 31 + k) % 100) / 100.0 < 0.5 + 0.15 * sin(i / 300.0) THEN 'buy' ELSE 'sell' END AS side,
        CASE WHEN i % 5 = 0 THEN 'limit' ELSE 'market' END AS ord_type,
        ${t0} + to_microseconds((i * ${every} * 1000000 + (i * 7919) % ${every * 900000})::BIGINT) AS ts,
        ${t0} + to_microseconds((i * ${every} * 1000000 + (i * 7919) % ${every * 900000} + 40000 + (i % 200) * 1000)::BIGINT) AS received_at,
        CASE WHEN i % 97 = 0 THEN 'rest' ELSE 'ws' END AS source
      FROM f WHERE i % ${SKIP_EVERY} <> 1234
    )
    SELECT symbol, k, epoch_us(received_at)::VARCHAR AS received_us,
      json_object('v', 1, 'exchange', 'KRAKEN', 'symbol', symbol, 'trade_id', trade_id, 'price', price::VARCHAR,
        'qty', qty::VARCHAR, 'side', side, 'ord_type', ord_type, 'ts', ${iso("ts")},
        'received_at', ${iso("received_at")}, 'source', source)::VARCHAR AS value
    FROM t ORDER BY k, i`);
  const tickers = await duck.rows(`
    WITH t AS (
      SELECT s.symbol, s.k, i, round(s.base * (1 + 0.02 * sin(i / 900.0 + s.k)), 2) AS mid,
        (1.2 + 0.8 * sin(i / 700.0) ^ 2 + 0.3 * s.k + 0.15 * sin(i / 61.0)) AS spread_bps,
        ${t0} + to_microseconds((i * ${every} * 1000000 + 500000)::BIGINT) AS ts
      FROM syms s, range(${n}) r(i)
    ), d AS (
      SELECT *, (mid * (1 - spread_bps / 20000))::DECIMAL(18,2) AS bid, (mid * (1 + spread_bps / 20000))::DECIMAL(18,2) AS ask,
        mid::DECIMAL(18,2) AS last, ts + INTERVAL 30 MILLISECOND AS received_at
      FROM t
    )
    SELECT symbol, k, epoch_us(received_at)::VARCHAR AS received_us,
      json_object('v', 1, 'exchange', 'KRAKEN', 'symbol', symbol, 'bid', bid::VARCHAR,
        'bid_qty', (0.5 + (i % 7) * 0.1)::DECIMAL(18,8)::VARCHAR, 'ask', ask::VARCHAR,
        'ask_qty', (0.4 + (i % 5) * 0.1)::DECIMAL(18,8)::VARCHAR, 'last', last::VARCHAR,
        'volume', (1000 + i % 100)::DECIMAL(18,8)::VARCHAR, 'vwap', last::VARCHAR, 'low', last::VARCHAR,
        'high', last::VARCHAR, 'change', '0.00', 'change_pct', '0.00', 'ts', ${iso("ts")},
        'received_at', ${iso("received_at")}, 'source', 'ws')::VARCHAR AS value
    FROM d ORDER BY k, i`);
  const records = (rows: typeof trades, topic: string): BronzeRecord[] => {
    const next = new Map<number, number>();
    return rows.map((r) => {
      const partition = Number(r.k);
      const offset = next.get(partition) ?? 0;
      next.set(partition, offset + 1);
      return {
        topic,
        partition,
        offset,
        key: String(r.symbol),
        value: String(r.value),
        ingestedAt: BigInt(String(r.received_us)),
      };
    });
  };
  return { trades: records(trades, "kraken.trades"), tickers: records(tickers, "kraken.ticker") };
}

const BONDS: readonly (readonly [string, number, number, readonly number[]])[] = [
  // bond type, short rate %, long rate %, maturities (years from 2024)
  ["Tesouro Prefixado", 10.1, 11.9, [1, 2, 3, 5, 7, 10]],
  ["Tesouro IPCA+", 5.6, 6.2, [2, 5, 8, 11, 16, 21, 26]],
  ["Tesouro Selic", 0.05, 0.18, [1, 3, 5, 6]],
];
const BASE_DATES = ["2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"];

/** A CDC snapshot of the Tesouro table (Debezium envelopes, decimals as strings, ISO dates). */
/** A synthetic Tesouro table: smooth curves per bond type over BASE_DATES. */
function tesouroRows(): CdcRow[] {
  const rows: CdcRow[] = [];
  BASE_DATES.forEach((base, d) => {
    BONDS.forEach(([bondType, short, long, years], b) => {
      for (const y of years) {
        const maturity = `${2024 + y}-01-01`;
        const shape = Math.log1p(y) / Math.log1p(30);
        const drift = b === 2 ? 0.005 : b === 0 ? 0.04 : -0.02;
        const rate = Number((short + (long - short) * shape + drift * d + 0.01 * Math.sin(y + d)).toFixed(2));
        const sell = Number((rate + (([0.12, 0.09, 0.03][b] ?? 0.1) + 0.01 * (d % 2))).toFixed(2));
        const days = (Date.parse(maturity) - Date.parse(base)) / 86_400_000;
        const price = (r: number): string => (1000 / (1 + r / 100) ** (days / 365.25)).toFixed(2);
        rows.push({
          bond_type: bondType,
          maturity_date: maturity,
          base_date: base,
          buy_rate: rate.toFixed(2),
          sell_rate: sell.toFixed(2),
          buy_price: price(rate),
          sell_price: price(sell),
          base_price: price(rate),
        });
      }
    });
  });
  return rows;
}

/** The fixture's Tesouro CDC snapshot as bronze records (for tests that add changes after it). */
export function tesouroSnapshotRecords(atMicros: bigint): BronzeRecord[] {
  return tesouroSnapshot(tesouroRows(), atMicros);
}

function tesouroSnapshot(rows: readonly CdcRow[], atMicros: bigint, table = tesouroTable()): BronzeRecord[] {
  const lsn = 1_000_000;
  const tsUs = Number(atMicros);
  return rows.map((after, i) => {
    const envelope: CdcEnvelope = {
      before: null,
      after,
      source: {
        version: CDC_SOURCE_VERSION,
        connector: CDC_CONNECTOR,
        name: "cdc",
        ts_ms: Math.floor(tsUs / 1000),
        ts_us: tsUs,
        ts_ns: tsUs * 1000,
        snapshot: i === rows.length - 1 ? "last" : "true",
        db: "tributary",
        sequence: JSON.stringify([null, String(lsn)]),
        schema: table.schema,
        table: table.table,
        txId: null,
        lsn,
        xmin: null,
      },
      transaction: null,
      op: "r",
      ts_ms: Math.floor(tsUs / 1000),
      ts_us: tsUs,
      ts_ns: tsUs * 1000,
    };
    const key = {
      bond_type: after.bond_type,
      maturity_date: after.maturity_date,
      base_date: after.base_date,
    };
    return {
      topic: `cdc.${table.schema}.${table.table}`,
      partition: 0,
      offset: i,
      key: JSON.stringify(key),
      value: JSON.stringify(envelope),
      ingestedAt: atMicros,
      eventTs: atMicros,
      symbol: "UNKNOWN",
    };
  });
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: bun apps/lake/src/testing/lake-fixture.ts <dir> [hours] [book minutes]");
    process.exit(2);
  }
  const hours = process.argv[3] ? Number(process.argv[3]) : undefined;
  const bookMinutes = process.argv[4] ? Number(process.argv[4]) : undefined;
  const options: LakeFixtureOptions = {
    ...(hours === undefined ? {} : { hours }),
    ...(bookMinutes === undefined ? {} : { book: { minutes: bookMinutes } }),
  };
  console.log(JSON.stringify(await buildLakeFixture(dir, options)));
}
