/**
 * Kraken's own 1-minute OHLC as a reference dataset, `silver/kraken_ohlc_1m` (partitioned like every
 * silver market dataset by hour and symbol), for gold's candle reconciliation.
 *
 * Whoever fetches `GET /0/public/OHLC?interval=1` hands the parsed rows to {@link ingestKrakenOhlc};
 * this module does not call Kraken. Only committed rows are kept: Kraken's last row is the minute
 * still forming, and `last` is the time of the last committed one. A later fetch of the same minute
 * replaces the earlier one. Every ingest appends to the `silver.kraken_ohlc` change journal, so the
 * next gold run re-reconciles those minutes and the quality dataset shows disagreements.
 */
import { isDecimalString } from "@tributary/shared/decimal";
import { formatMicros } from "@tributary/shared/time";
import { ChangeJournal } from "./change-journal.ts";
import { hourPartitionKey, SILVER } from "./datasets.ts";
import { openDuckSession, sqlString, sqlStringList } from "./duckdb.ts";
import { clock, type LakeJobEnv } from "./env.ts";
import { LakeReader } from "./lake-reader.ts";
import { publishHourPartitions, stageHourPartitions } from "./partition-writer.ts";
import { distinctPartitions } from "./quarantine.ts";
import { changedOf } from "./silver-run.ts";
import { createStaging } from "./staging.ts";

export const KRAKEN_OHLC_JOB = "silver.kraken_ohlc";

/** One REST OHLC row: `[time, open, high, low, close, vwap, volume, count]` with the strings kept. */
export interface KrakenOhlcRow {
  /** Interval start, unix seconds. */
  readonly time: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly vwap: string;
  readonly volume: string;
  readonly count: number;
}

export interface KrakenOhlcFetch {
  /** WS v2 symbol, e.g. `BTC/USD`. */
  readonly symbol: string;
  /** Must be 1: gold reconciles 1-minute candles. */
  readonly intervalMinutes: number;
  readonly rows: readonly KrakenOhlcRow[];
  /** Kraken's `last`: the time (unix s) of the last committed row. */
  readonly last: number;
  /** When the rows were fetched (epoch µs); default now. */
  readonly fetchedAt?: bigint;
}

export interface RejectedOhlcRow {
  readonly row: unknown;
  readonly reason: string;
}

export interface OhlcIngestResult {
  readonly ingested: number;
  /** The still-forming rows (time > last), not stored. */
  readonly forming: number;
  readonly rejected: readonly RejectedOhlcRow[];
  readonly changeSeq: number;
}

export class KrakenOhlcError extends Error {
  override readonly name = "KrakenOhlcError";
}

/**
 * Parses the `result` of a REST OHLC response (`{"<PAIR>": [[time, "o", …, count], …], "last": n}`).
 * Rows of the wrong shape are returned as rejected, never dropped silently.
 */
export function parseKrakenOhlcResult(
  result: unknown,
  symbol: string,
  intervalMinutes = 1,
): { fetch: KrakenOhlcFetch; rejected: RejectedOhlcRow[] } {
  if (typeof result !== "object" || result === null)
    throw new KrakenOhlcError("OHLC result is not an object");
  const entries = Object.entries(result as Record<string, unknown>);
  const lastRaw = (result as Record<string, unknown>).last;
  const last = typeof lastRaw === "string" ? Number(lastRaw) : lastRaw;
  if (typeof last !== "number" || !Number.isSafeInteger(last))
    throw new KrakenOhlcError("OHLC result has no integer last");
  const series = entries.filter(([k, v]) => k !== "last" && Array.isArray(v));
  if (series.length !== 1) throw new KrakenOhlcError(`OHLC result holds ${series.length} pairs, expected 1`);
  const rows: KrakenOhlcRow[] = [];
  const rejected: RejectedOhlcRow[] = [];
  for (const raw of (series[0] as [string, unknown[]])[1]) {
    const a = raw as unknown[];
    const ok =
      Array.isArray(a) &&
      a.length === 8 &&
      typeof a[0] === "number" &&
      a.slice(1, 7).every((x) => typeof x === "string") &&
      typeof a[7] === "number";
    if (!ok) {
      rejected.push({ row: raw, reason: "not [time, open, high, low, close, vwap, volume, count]" });
      continue;
    }
    rows.push({
      time: a[0] as number,
      open: a[1] as string,
      high: a[2] as string,
      low: a[3] as string,
      close: a[4] as string,
      vwap: a[5] as string,
      volume: a[6] as string,
      count: a[7] as number,
    });
  }
  return { fetch: { symbol, intervalMinutes, rows, last }, rejected };
}

function rowProblem(r: KrakenOhlcRow): string | undefined {
  if (!Number.isSafeInteger(r.time) || r.time % 60 !== 0) return `time ${r.time} is not a whole minute`;
  if (!Number.isSafeInteger(r.count) || r.count < 0) return `count ${r.count} is not a non-negative integer`;
  for (const field of ["open", "high", "low", "close", "vwap", "volume"] as const) {
    const v = r[field];
    if (!isDecimalString(v) || v.startsWith("-"))
      return `${field} ${JSON.stringify(v)} is not a non-negative decimal`;
    const frac = v.includes(".") ? (v.split(".")[1] as string).length : 0;
    const int = (v.split(".")[0] as string).replace(/^0+(?=\d)/, "").length;
    if (frac > 10 || int > 15)
      return `${field} ${JSON.stringify(v)} does not fit DECIMAL(38,10) within gold's bounds`;
  }
  return undefined;
}

/** One unit of the last printed digit of Kraken's vwap (`106039.6` → `0.1`, `12` → `1`). */
export function vwapTolerance(vwap: string): string {
  const frac = vwap.includes(".") ? (vwap.split(".")[1] as string).length : 0;
  return frac === 0 ? "1" : `0.${"0".repeat(frac - 1)}1`;
}

/** Stores the committed rows of one fetch in silver/kraken_ohlc_1m and journals the change. */
export async function ingestKrakenOhlc(env: LakeJobEnv, fetch: KrakenOhlcFetch): Promise<OhlcIngestResult> {
  if (fetch.intervalMinutes !== 1) {
    throw new KrakenOhlcError(`reconciliation takes 1-minute OHLC, not ${fetch.intervalMinutes}-minute`);
  }
  if (!/^[A-Z0-9]{2,10}\/[A-Z0-9]{2,10}$/.test(fetch.symbol)) {
    throw new KrakenOhlcError(`symbol ${JSON.stringify(fetch.symbol)} is not BASE/QUOTE`);
  }
  const fetchedAt = fetch.fetchedAt ?? clock(env);
  const rejected: RejectedOhlcRow[] = [];
  const committed: KrakenOhlcRow[] = [];
  let forming = 0;
  for (const r of fetch.rows) {
    const problem = rowProblem(r);
    if (problem) rejected.push({ row: r, reason: problem });
    else if (r.time > fetch.last) forming += 1;
    else committed.push(r);
  }
  for (const r of rejected)
    env.log.warn("kraken OHLC row rejected", { symbol: fetch.symbol, reason: r.reason });
  const journal = new ChangeJournal(env.store, KRAKEN_OHLC_JOB);
  if (committed.length === 0) return { ingested: 0, forming, rejected, changeSeq: await journal.head() };

  const duck = await openDuckSession({ tempDir: `${env.scratchDir}/duckdb`, ...env.duck });
  const staging = createStaging(env.store, KRAKEN_OHLC_JOB, env.scratchDir);
  const reader = new LakeReader(env.store, env.scratchDir);
  try {
    const values = committed
      .map(
        (r) =>
          `(${r.time}, ${sqlString(r.open)}, ${sqlString(r.high)}, ${sqlString(r.low)}, ${sqlString(r.close)}, ${sqlString(
            r.vwap,
          )}, ${sqlString(r.volume)}, ${r.count}, ${sqlString(vwapTolerance(r.vwap))})`,
      )
      .join(",\n");
    await duck.run(`CREATE TEMP TABLE ohlc_new AS
SELECT ${sqlString(fetch.symbol)} AS symbol, make_timestamptz(t::BIGINT * 1000000) AS minute,
  o::DECIMAL(38,10) AS open, h::DECIMAL(38,10) AS high, l::DECIMAL(38,10) AS low, c::DECIMAL(38,10) AS close,
  vw::DECIMAL(38,10) AS vwap, vol::DECIMAL(38,10) AS volume, n::BIGINT AS trade_count,
  tol::DECIMAL(38,10) AS vwap_tolerance, make_timestamptz(${fetchedAt}::BIGINT) AS fetched_at,
  regexp_replace(${sqlString(fetch.symbol)}, '[^A-Za-z0-9]+', '_', 'g') AS p_symbol,
  date_trunc('hour', make_timestamptz(t::BIGINT * 1000000)) AS p_hour
FROM (VALUES ${values}) v(t, o, h, l, c, vw, vol, n, tol)`);
    const affected = await distinctPartitions(duck, "ohlc_new");
    const keys = await reader.existing(affected.map((p) => hourPartitionKey(SILVER.krakenOhlc, p)));
    const old =
      keys.length > 0
        ? `SELECT *, regexp_replace(symbol, '[^A-Za-z0-9]+', '_', 'g') AS p_symbol, date_trunc('hour', minute) AS p_hour
FROM read_parquet(${sqlStringList(await reader.paths(keys))}, hive_partitioning = false) UNION ALL BY NAME `
        : "";
    await duck.run(`CREATE TEMP TABLE ohlc_merged AS
SELECT DISTINCT ON (symbol, minute) * FROM (${old}SELECT * FROM ohlc_new) ORDER BY symbol, minute, fetched_at DESC`);
    const staged = await stageHourPartitions(
      duck,
      staging,
      SILVER.krakenOhlc,
      "SELECT * FROM ohlc_merged",
      "minute",
      affected,
    );
    await publishHourPartitions(env.store, staging, staged);
    const changeSeq = await journal.append(
      affected.map((p) => changedOf(SILVER.krakenOhlc, p)),
      formatMicros(clock(env)),
    );
    return { ingested: committed.length, forming, rejected, changeSeq };
  } finally {
    reader.dispose();
    staging.dispose();
    duck.close();
  }
}
