/**
 * The trade key index: for every (symbol, trade_id) in silver, the hour partition holding it.
 * It makes deduplication hold across all time even when two copies of a trade disagree on the hour
 * (Kraken's REST time is a float; a trade at xx:59:59.9999995 can round into the next hour), because
 * a run also loads the partition where each incoming key already lives. It is only a hint of where
 * to look (the ranking over the loaded rows decides), so a crash between publishing silver and the
 * index cannot make it lie in a harmful way.
 *
 *   <LAKE_URI>/_tributary/silver/kraken_trades/keys/pair=<BTC_USD>/bucket=<trade_id div 100000>.parquet
 *   columns: symbol (the pair value), trade_id BIGINT, hour TIMESTAMPTZ.
 */

import { type DuckSession, sqlString, sqlStringList } from "../runtime/duckdb.ts";
import type { LakeReader } from "../runtime/lake-reader.ts";
import type { Staging } from "../runtime/staging.ts";
import { keyIndexPrefix } from "./datasets.ts";

export const KEY_BUCKET_SIZE = 100_000;

export interface KeyBucket {
  readonly symbol: string;
  readonly bucket: number;
}

export function keyBucketKey(b: KeyBucket): string {
  return `${keyIndexPrefix(b.symbol)}bucket=${String(b.bucket).padStart(12, "0")}.parquet`;
}

/** Buckets of the keys in `table` (columns p_symbol, trade_id). */
export async function bucketsOf(duck: DuckSession, table: string, where = "true"): Promise<KeyBucket[]> {
  const rows = await duck.rows(
    `SELECT DISTINCT p_symbol, (trade_id // ${KEY_BUCKET_SIZE})::BIGINT AS bucket FROM ${table} WHERE ${where} ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ symbol: String(r.p_symbol), bucket: Number(r.bucket) }));
}

/** Loads the existing index rows of `buckets` into temp table `key_index_old`. */
export async function loadKeyIndex(
  duck: DuckSession,
  reader: LakeReader,
  buckets: readonly KeyBucket[],
): Promise<void> {
  const keys = await reader.existing(buckets.map(keyBucketKey));
  const body =
    keys.length > 0
      ? `SELECT symbol, trade_id, hour FROM read_parquet(${sqlStringList(await reader.paths(keys))}, hive_partitioning = false)`
      : "SELECT NULL::VARCHAR AS symbol, NULL::BIGINT AS trade_id, NULL::TIMESTAMPTZ AS hour WHERE false";
  await duck.run(`CREATE OR REPLACE TEMP TABLE key_index_old AS ${body}`);
}

/**
 * Stages the new index files of `buckets`: old rows whose key was not re-ranked in this run, plus
 * the winners' partitions. Returns staged relative path per bucket file key.
 */
export async function stageKeyIndex(
  duck: DuckSession,
  staging: Staging,
  buckets: readonly KeyBucket[],
): Promise<Map<string, string>> {
  if (buckets.length === 0) return new Map();
  const values = buckets.map((b) => `(${sqlString(b.symbol)}, ${b.bucket})`).join(", ");
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE key_buckets AS SELECT * FROM (VALUES ${values}) t(symbol, bucket)`,
  );
  const dir = `${staging.dir}/keys`;
  await duck.run(`COPY (
  SELECT symbol, trade_id, hour, symbol AS p_symbol, (trade_id // ${KEY_BUCKET_SIZE})::BIGINT AS p_bucket FROM (
    SELECT o.symbol, o.trade_id, o.hour FROM key_index_old o
    ANTI JOIN trades_cand r ON r.p_symbol = o.symbol AND r.trade_id = o.trade_id
    UNION ALL
    SELECT r.p_symbol, r.trade_id, r.p_hour FROM trades_winners r
    SEMI JOIN key_buckets b ON b.symbol = r.p_symbol AND b.bucket = r.trade_id // ${KEY_BUCKET_SIZE}
  )
) TO ${sqlString(dir)} (FORMAT parquet, PARTITION_BY (p_symbol, p_bucket), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE)`);
  const out = new Map<string, string>();
  for (const rel of staging.files("keys")) {
    const m = /p_symbol=([^/]+)\/p_bucket=(\d+)\//.exec(rel);
    if (!m) continue;
    out.set(keyBucketKey({ symbol: decodeURIComponent(m[1] as string), bucket: Number(m[2]) }), rel);
  }
  return out;
}
