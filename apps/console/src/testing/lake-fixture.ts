/**
 * A small lake for the console's tests, written with DuckDB in a temporary directory following the
 * dataset contract: `<lake>/<layer>/<dataset>/<hive partitions>/<file>.parquet`, bronze rows with
 * the bronze columns, decimals as DECIMAL, timestamps UTC with microseconds.
 */
import { mkdirSync, mkdtempSync, readdirSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

export interface LakeFixture {
  readonly root: string;
  /** Sets every file of a dataset to look committed `ageS` seconds ago. */
  age(layer: string, dataset: string, ageS: number): void;
  /** Every file under the lake with its size and mtime, to prove a request changed nothing. */
  snapshot(): string[];
}

export async function createLakeFixture(
  options: { hours?: number; symbols?: readonly string[] } = {},
): Promise<LakeFixture> {
  const root = mkdtempSync(join(tmpdir(), "console-lake-"));
  const hours = options.hours ?? 3;
  const symbols = options.symbols ?? ["BTC/USD", "ETH/USD"];
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const start = new Date(Date.now() - hours * 3_600_000);
    start.setUTCMinutes(0, 0, 0);
    const symbolList = symbols.map((s) => `'${s}'`).join(", ");
    await c.run(`CREATE TABLE trades AS
      SELECT s.symbol, (i + 1)::BIGINT AS trade_id,
        (CASE WHEN s.symbol LIKE 'BTC%' THEN 60000 ELSE 3000 END + (i % 97) * 0.5)::DECIMAL(18,8) AS price,
        (0.001 + (i % 13) * 0.01)::DECIMAL(18,8) AS qty,
        CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
        (TIMESTAMPTZ '${start.toISOString()}' + to_microseconds((i * ${Math.floor((hours * 3_600_000_000) / 600)})::BIGINT)) AS ts
      FROM range(600) r(i), (SELECT unnest([${symbolList}]) AS symbol) s`);
    for (const layer of ["bronze", "silver", "gold"]) mkdirSync(join(root, layer), { recursive: true });
    mkdirSync(join(root, "gold", "data_quality_hourly"), { recursive: true });
    const partitions = `year, month, day, hour, symbol`;
    await c.run(`COPY (
      SELECT 'kraken.trades' AS topic, 0::INTEGER AS kafka_partition, (row_number() OVER () - 1)::BIGINT AS kafka_offset,
        encode(symbol) AS kafka_key,
        encode(json_object('symbol', symbol, 'trade_id', trade_id, 'price', price::VARCHAR, 'qty', qty::VARCHAR)::VARCHAR) AS kafka_value,
        ts AS kafka_timestamp, ts AS ingested_at, ts AS event_ts, false AS event_ts_from_kafka,
        strftime(ts AT TIME ZONE 'UTC', '%Y') AS year, strftime(ts AT TIME ZONE 'UTC', '%m') AS month,
        strftime(ts AT TIME ZONE 'UTC', '%d') AS day, strftime(ts AT TIME ZONE 'UTC', '%H') AS hour,
        replace(symbol, '/', '_') AS symbol
      FROM trades) TO '${root}/bronze/kraken_trades' (FORMAT parquet, PARTITION_BY (${partitions}))`);
    await c.run(`COPY (
      SELECT 'KRAKEN' AS exchange, symbol AS pair, trade_id, price, qty, side, ts,
        strftime(ts AT TIME ZONE 'UTC', '%Y') AS year, strftime(ts AT TIME ZONE 'UTC', '%m') AS month,
        strftime(ts AT TIME ZONE 'UTC', '%d') AS day, strftime(ts AT TIME ZONE 'UTC', '%H') AS hour,
        replace(symbol, '/', '_') AS symbol
      FROM trades) TO '${root}/silver/trades' (FORMAT parquet, PARTITION_BY (${partitions}))`);
    await c.run(`COPY (
      SELECT symbol, time_bucket(INTERVAL 1 HOUR, ts) AS bucket_start, arg_min(price, trade_id) AS open,
        max(price) AS high, min(price) AS low, arg_max(price, trade_id) AS close, sum(qty)::DECIMAL(38,8) AS volume,
        count(*)::BIGINT AS trade_count
      FROM trades GROUP BY ALL) TO '${root}/gold/candles_1h' (FORMAT parquet, PARTITION_BY (symbol))`);
    await c.run(`COPY (
      SELECT replace(symbol, '/', '_') AS symbol, time_bucket(INTERVAL 1 HOUR, ts) AS hour, count(*)::BIGINT AS rows,
        (hour(time_bucket(INTERVAL 1 HOUR, ts)) % 3 + CASE WHEN symbol LIKE 'ETH%' THEN 2 ELSE 0 END)::BIGINT AS duplicates_removed,
        (hour(time_bucket(INTERVAL 1 HOUR, ts)) % 2)::BIGINT AS quarantined,
        0::BIGINT AS trade_id_gaps, (1.5 + (hour(time_bucket(INTERVAL 1 HOUR, ts)) % 4) * 0.25)::DOUBLE AS freshness_s
      FROM trades GROUP BY ALL ORDER BY hour) TO '${root}/gold/data_quality_hourly/part-0.parquet' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  return {
    root,
    age(layer, dataset, ageS) {
      const when = new Date(Date.now() - ageS * 1000);
      for (const file of walk(join(root, layer, dataset))) utimesSync(file, when, when);
    },
    snapshot() {
      return walk(root)
        .map((f) => {
          const st = statSync(f);
          return `${f} ${st.size} ${st.mtimeMs}`;
        })
        .sort();
    },
  };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}
