/**
 * Gold datasets and their files. A gold dataset is Hive-partitioned by pair only
 * (`gold/candles_1m/pair=BTC_USD/`, shared/src/lake/layout.ts), and inside a symbol the rows are split into one file per UTC
 * day (`2024-03-10.parquet`) or, for the daily datasets, per month (`2024-03.parquet`). A file is the
 * unit of atomic replacement (see runtime/staging.ts): a run rewrites only the files whose days
 * changed, and a reader sees each file either before or after, never half-written.
 */
import { PAIR_KEY, pairPath } from "@tributary/shared/lake/layout";
import { type DuckSession, sqlString } from "../../runtime/duckdb.ts";
import { collectStaged, type FileLayout, type StagedFiles } from "../../runtime/staged-publish.ts";
import type { Staging } from "../../runtime/staging.ts";

/** One gold file: the symbol's pair value (`BTC_USD`) and file id (`2024-03-10` or `2024-03`). */
export interface GoldFile {
  readonly symbol: string;
  readonly file: string;
}

export function goldFileKey(dataset: string, f: GoldFile): string {
  return `gold/${dataset}/${pairPath(f.symbol)}/${f.file}.parquet`;
}

export function goldFileId(f: GoldFile): string {
  return `${f.symbol}|${f.file}`;
}

export function parseGoldFileKey(dataset: string, key: string): GoldFile | undefined {
  const m = new RegExp(`^gold/${dataset}/${PAIR_KEY}=([^/]+)/([0-9-]+)\\.parquet$`).exec(key);
  return m ? { symbol: m[1] as string, file: m[2] as string } : undefined;
}

/** A market gold dataset's files: one per symbol and day (or month). */
export const GOLD_FILES: FileLayout<GoldFile> = {
  id: goldFileId,
  key: goldFileKey,
  parseStaged(rel) {
    const m = /p_symbol=([^/]+)\/p_file=([^/]+)\/[^/]+\.parquet$/.exec(rel);
    return m
      ? { symbol: decodeURIComponent(m[1] as string), file: decodeURIComponent(m[2] as string) }
      : undefined;
  },
};

/** Stages `select` (dataset columns + `p_symbol`, `p_file`) as one file per (symbol, file id). */
export async function stageGoldFiles(
  duck: DuckSession,
  staging: Staging,
  dataset: string,
  select: string,
  orderBy: string,
  owned: readonly GoldFile[],
): Promise<StagedFiles<GoldFile>> {
  const dir = `${staging.dir}/${dataset}`;
  await duck.run(`COPY (
  SELECT * FROM (${select}) ORDER BY p_symbol, p_file, ${orderBy}
) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (p_symbol, p_file), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE, WRITE_PARTITION_COLUMNS false)`);
  return collectStaged(duck, staging, GOLD_FILES, dataset, orderBy, owned);
}
