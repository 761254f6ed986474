/**
 * A small deterministic lake with the pipeline's dataset contract (silver and gold Kraken datasets,
 * Tesouro Direto curves), written by DuckDB COPY into `<dir>/<layer>/<dataset>/<hive partitions>/`.
 * Prices follow smooth waves plus fixed pseudo-noise; a few trade ids are skipped so gap checks
 * have something to find. Used by tests, and runnable: `bun apps/notebooks/src/testing/lake-fixture.ts <dir>`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { krakenPartitionPath, symbolPartitionValue } from "@tributary/shared/lake/layout";
import { parseRfc3339Micros, utcParts } from "@tributary/shared/time";

export interface LakeFixtureOptions {
  /** First hour, RFC 3339 UTC (default Monday 2024-03-04T00:00:00Z). */
  readonly start?: string;
  readonly hours?: number;
  readonly symbols?: readonly string[];
  /** Seconds between trades per symbol. */
  readonly tradeEverySeconds?: number;
  readonly tesouro?: boolean;
}

export interface LakeFixture {
  readonly dir: string;
  readonly start: string;
  readonly hours: number;
  readonly symbols: readonly string[];
  readonly trades: number;
  readonly skippedTradeIds: number;
}

const BASE_PRICE: Readonly<Record<string, number>> = { "BTC/USD": 65000, "ETH/USD": 3500 };

export async function buildLakeFixture(dir: string, options: LakeFixtureOptions = {}): Promise<LakeFixture> {
  const start = options.start ?? "2024-03-04T00:00:00Z";
  const hours = options.hours ?? 48;
  const symbols = options.symbols ?? ["BTC/USD", "ETH/USD"];
  const every = options.tradeEverySeconds ?? 10;
  const perHour = Math.floor(3600 / every);
  const startMicros = parseRfc3339Micros(start);
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    const symbolRows = symbols
      .map((s, k) => `(${lit(s)}, ${k}, ${BASE_PRICE[s] ?? 100 * (k + 1)})`)
      .join(", ");
    await c.run(
      `CREATE TABLE syms(symbol VARCHAR, k INTEGER, base DOUBLE); INSERT INTO syms VALUES ${symbolRows}`,
    );
    const t0 = `TIMESTAMPTZ ${lit(start)}`;
    const n = hours * perHour;
    await c.run(`
      CREATE TABLE trades AS
      WITH g AS (
        SELECT s.symbol, s.k, s.base, i,
          (sin(i * 12.9898 + s.k * 78.233) * 43758.5453) AS h
        FROM syms s, range(${n}) r(i)
      ), f AS (SELECT *, h - floor(h) AS u FROM g)
      SELECT
        'KRAKEN' AS exchange,
        symbol,
        (1000000 + i)::BIGINT AS trade_id,
        round(base * (1 + 0.02 * sin(i / 900.0 + k) + 0.004 * sin(i / 37.0) + 0.0015 * (u - 0.5)), 2)::DECIMAL(38,10) AS price,
        round(0.0004 + 2.0 * pow(u, 7) + 0.01 * ((i * 7) % 13), 8)::DECIMAL(38,10) AS qty,
        CASE WHEN ((i * 31 + k) % 100) / 100.0 < 0.5 + 0.15 * sin(i / 300.0) THEN 'buy' ELSE 'sell' END AS side,
        CASE WHEN i % 5 = 0 THEN 'limit' ELSE 'market' END AS ord_type,
        ${t0} + to_microseconds((i * ${every} * 1000000 + (i * 7919) % ${every * 900000})::BIGINT) AS ts,
        ${t0} + to_microseconds((i * ${every} * 1000000 + (i * 7919) % ${every * 900000} + 40000 + (i % 200) * 1000)::BIGINT) AS received_at,
        CASE WHEN i % 97 = 0 THEN 'rest' ELSE 'ws' END AS source
      FROM f
      WHERE i % 4000 <> 1234`);
    await c.run(`
      CREATE TABLE ticker AS
      SELECT s.symbol,
        round(s.base * (1 + 0.02 * sin(i / 900.0 + s.k)), 2) AS mid_d,
        (1.2 + 0.8 * sin(i / 700.0) ^ 2 + 0.3 * s.k + 0.15 * sin(i / 61.0)) AS spread_bps_d,
        ${t0} + to_microseconds((i * ${every} * 1000000 + 500000)::BIGINT) AS ts,
        i
      FROM syms s, range(${n}) r(i)`);
    await c.run(`
      CREATE TABLE ticker_out AS
      SELECT symbol,
        (mid_d * (1 - spread_bps_d / 20000))::DECIMAL(38,10) AS bid,
        (0.5 + (i % 7) * 0.1)::DECIMAL(38,10) AS bid_qty,
        (mid_d * (1 + spread_bps_d / 20000))::DECIMAL(38,10) AS ask,
        (0.4 + (i % 5) * 0.1)::DECIMAL(38,10) AS ask_qty,
        mid_d::DECIMAL(38,10) AS last,
        (1000 + i % 100)::DECIMAL(38,10) AS volume,
        mid_d::DECIMAL(38,10) AS vwap,
        ts,
        ts + INTERVAL 30 MILLISECOND AS received_at
      FROM ticker`);

    for (let h = 0; h < hours; h++) {
      const hourStart = startMicros + BigInt(h) * 3_600_000_000n;
      const parts = utcParts(hourStart);
      const lo = `TIMESTAMPTZ ${lit(isoHour(hourStart))}`;
      const hi = `TIMESTAMPTZ ${lit(isoHour(hourStart + 3_600_000_000n))}`;
      for (const symbol of symbols) {
        const where = `symbol = ${lit(symbol)} AND ts >= ${lo} AND ts < ${hi}`;
        const rel = krakenPartitionPath(parts, symbol);
        await copy(
          c,
          `SELECT * FROM trades WHERE ${where} ORDER BY trade_id`,
          dir,
          "silver/kraken_trades",
          rel,
        );
        await copy(
          c,
          `SELECT * FROM ticker_out WHERE ${where} ORDER BY ts`,
          dir,
          "silver/kraken_ticker",
          rel,
        );
      }
    }

    const candles: readonly [string, string][] = [
      ["candles_1m", "1 minute"],
      ["candles_5m", "5 minutes"],
      ["candles_15m", "15 minutes"],
      ["candles_1h", "1 hour"],
      ["candles_1d", "1 day"],
    ];
    for (const [name, width] of candles) {
      await perSymbol(c, dir, symbols, `gold/${name}`, candleSql(width));
    }
    await perSymbol(
      c,
      dir,
      symbols,
      "gold/market_metrics_1m",
      `SELECT symbol, time_bucket(INTERVAL 1 MINUTE, ts) AS minute,
         avg((bid + ask) / 2)::DECIMAL(38,10) AS mid,
         avg((ask - bid) / ((ask + bid) / 2) * 10000)::DOUBLE AS spread_bps,
         count(*)::BIGINT AS samples
       FROM ticker_out GROUP BY ALL ORDER BY minute`,
    );
    await perSymbol(
      c,
      dir,
      symbols,
      "gold/daily_summary",
      `WITH m AS (${candleSql("1 minute")}),
       r AS (SELECT *, ln(close::DOUBLE / lag(close::DOUBLE) OVER (PARTITION BY symbol ORDER BY bucket_start)) AS lr FROM m),
       d AS (SELECT symbol, bucket_start::DATE AS day, arg_min(open, bucket_start) AS open, arg_max(close, bucket_start) AS close,
               sqrt(sum(lr * lr))::DOUBLE AS realized_vol, sum(trade_count)::BIGINT AS trade_count,
               min(low) AS low, max(high) AS high
             FROM r GROUP BY ALL)
       SELECT symbol, day, open, close, (close::DOUBLE / open::DOUBLE - 1)::DOUBLE AS return, realized_vol,
         ((low::DOUBLE - high::DOUBLE) / high::DOUBLE)::DOUBLE AS max_drawdown, trade_count
       FROM d ORDER BY day`,
    );
    await perSymbol(
      c,
      dir,
      symbols,
      "gold/data_quality_hourly",
      `WITH t AS (
         SELECT *, trade_id - lag(trade_id) OVER (PARTITION BY symbol ORDER BY trade_id) - 1 AS gap FROM trades)
       SELECT symbol, time_bucket(INTERVAL 1 HOUR, ts) AS hour, count(*)::BIGINT AS rows,
         (CASE WHEN hour(time_bucket(INTERVAL 1 HOUR, ts)) % 7 = 0 THEN 3 ELSE 0 END)::BIGINT AS duplicates_removed,
         (CASE WHEN hour(time_bucket(INTERVAL 1 HOUR, ts)) % 11 = 3 THEN 1 ELSE 0 END)::BIGINT AS quarantined,
         count(*) FILTER (WHERE gap > 0)::BIGINT AS trade_id_gaps,
         coalesce(sum(gap) FILTER (WHERE gap > 0), 0)::BIGINT AS missing_trades,
         (hour(time_bucket(INTERVAL 1 HOUR, ts)) % 5)::BIGINT AS late_arrivals,
         (1.5 + (hour(time_bucket(INTERVAL 1 HOUR, ts)) % 4) * 0.25)::DOUBLE AS freshness_s
       FROM t GROUP BY ALL ORDER BY hour`,
    );
    if (options.tesouro !== false) await writeTesouro(c, dir);
    const count = await c.runAndReadAll("SELECT count(*) FROM trades");
    const trades = Number(count.getRows()[0]?.[0] ?? 0);
    return { dir, start, hours, symbols, trades, skippedTradeIds: symbols.length * n - trades };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

function candleSql(width: string): string {
  return `SELECT symbol, time_bucket(INTERVAL ${width}, ts) AS bucket_start,
      arg_min(price, trade_id) AS open, max(price) AS high, min(price) AS low, arg_max(price, trade_id) AS close,
      sum(qty)::DECIMAL(38,10) AS base_volume,
      sum(price * qty)::DECIMAL(38,10) AS quote_volume,
      (sum(price * qty) / sum(qty))::DECIMAL(38,10) AS vwap,
      count(*)::BIGINT AS trade_count,
      coalesce(sum(qty) FILTER (WHERE side = 'buy'), 0)::DECIMAL(38,10) AS buy_volume,
      coalesce(sum(qty) FILTER (WHERE side = 'sell'), 0)::DECIMAL(38,10) AS sell_volume,
      min(trade_id) AS first_trade_id, max(trade_id) AS last_trade_id
    FROM trades GROUP BY ALL ORDER BY bucket_start`;
}

const BONDS: readonly (readonly [string, number, number, readonly number[]])[] = [
  // bond type, short rate %, long rate %, maturities (years from 2024)
  ["Tesouro Prefixado", 10.1, 11.9, [1, 2, 3, 5, 7, 10]],
  ["Tesouro IPCA+", 5.6, 6.2, [2, 5, 8, 11, 16, 21, 26]],
  ["Tesouro Selic", 0.05, 0.18, [1, 3, 5, 6]],
];

async function writeTesouro(c: DuckDBConnection, dir: string): Promise<void> {
  const rows: string[] = [];
  const baseDates = ["2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"];
  baseDates.forEach((base, d) => {
    BONDS.forEach(([type, short, long, years], b) => {
      for (const y of years) {
        const maturity = `${2024 + y}-01-01`;
        const shape = Math.log1p(y) / Math.log1p(30);
        const drift = b === 2 ? 0.005 : b === 0 ? 0.04 : -0.02;
        const rate = short + (long - short) * shape + drift * d + 0.01 * Math.sin(y + d);
        const spread = [0.12, 0.09, 0.03][b] ?? 0.1;
        rows.push(
          `(${lit(type)}, DATE ${lit(maturity)}, DATE ${lit(base)}, ${rate.toFixed(2)}, ${(spread + 0.01 * (d % 2)).toFixed(2)})`,
        );
      }
    });
  });
  await c.run(`CREATE TABLE tesouro_raw(bond_type VARCHAR, maturity_date DATE, base_date DATE, rate DOUBLE, spread DOUBLE);
    INSERT INTO tesouro_raw VALUES ${rows.join(", ")}`);
  await c.run(`CREATE TABLE tesouro AS
    SELECT bond_type, maturity_date, base_date,
      rate::DECIMAL(9,2) AS buy_rate,
      (rate + spread)::DECIMAL(9,2) AS sell_rate,
      round(1000 / pow(1 + rate / 100, date_diff('day', base_date, maturity_date) / 365.25), 2)::DECIMAL(18,2) AS buy_price,
      round(1000 / pow(1 + (rate + spread) / 100, date_diff('day', base_date, maturity_date) / 365.25), 2)::DECIMAL(18,2) AS sell_price
    FROM tesouro_raw`);
  await copyFile(
    c,
    `SELECT *, buy_price AS base_price FROM tesouro
     WHERE base_date = (SELECT max(base_date) FROM tesouro) ORDER BY bond_type, maturity_date`,
    join(dir, "silver/tesouro_prices"),
  );
  await copyFile(
    c,
    `SELECT bond_type, base_date, maturity_date,
       (date_diff('day', base_date, maturity_date) / 365.25)::DOUBLE AS years_to_maturity, buy_rate, sell_rate
     FROM tesouro ORDER BY base_date, bond_type, maturity_date`,
    join(dir, "gold/tesouro_yield_curve"),
  );
  await copyFile(
    c,
    `SELECT bond_type, maturity_date, base_date, buy_price,
       (buy_price - lag(buy_price) OVER w)::DECIMAL(18,2) AS buy_price_change,
       buy_rate, (buy_rate - lag(buy_rate) OVER w)::DECIMAL(9,2) AS buy_rate_change_pp
     FROM tesouro WINDOW w AS (PARTITION BY bond_type, maturity_date ORDER BY base_date)
     ORDER BY base_date, bond_type, maturity_date`,
    join(dir, "gold/tesouro_daily_change"),
  );
  await copyFile(
    c,
    `SELECT bond_type, maturity_date, base_date, (sell_rate - buy_rate)::DECIMAL(9,2) AS rate_spread_pp,
       (buy_price - sell_price)::DECIMAL(18,2) AS price_spread
     FROM tesouro ORDER BY base_date, bond_type, maturity_date`,
    join(dir, "gold/tesouro_spreads"),
  );
}

async function perSymbol(
  c: DuckDBConnection,
  dir: string,
  symbols: readonly string[],
  dataset: string,
  sql: string,
): Promise<void> {
  await c.run(`CREATE OR REPLACE TEMP TABLE per_symbol AS ${sql}`);
  for (const symbol of symbols) {
    await copy(
      c,
      `SELECT * FROM per_symbol WHERE symbol = ${lit(symbol)}`,
      dir,
      dataset,
      `symbol=${symbolPartitionValue(symbol)}`,
    );
  }
}

async function copy(
  c: DuckDBConnection,
  sql: string,
  dir: string,
  dataset: string,
  partition: string,
): Promise<void> {
  await copyFile(c, sql, join(dir, dataset, partition));
}

async function copyFile(c: DuckDBConnection, sql: string, folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  await c.run(`COPY (${sql}) TO ${lit(join(folder, "part-00000.parquet"))} (FORMAT parquet)`);
}

function isoHour(micros: bigint): string {
  return `${new Date(Number(micros / 1000n)).toISOString().slice(0, 19)}Z`;
}

function lit(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: bun apps/notebooks/src/testing/lake-fixture.ts <dir> [hours]");
    process.exit(2);
  }
  const hours = process.argv[3] ? Number(process.argv[3]) : undefined;
  const fixture = await buildLakeFixture(dir, hours === undefined ? {} : { hours });
  console.log(JSON.stringify(fixture));
}
