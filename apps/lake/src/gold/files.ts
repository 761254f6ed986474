/**
 * Gold datasets and their files. A gold dataset is Hive-partitioned by symbol only
 * (`gold/candles_1m/symbol=BTC_USD/`), and inside a symbol the rows are split into one file per UTC
 * day (`2024-03-10.parquet`) or, for the daily datasets, per month (`2024-03.parquet`). A file is the
 * unit of atomic replacement (see silver/staging.ts): a run rewrites only the files whose days
 * changed, and a reader sees each file either before or after, never half-written.
 */
import type { LakeStore } from "@tributary/shared/lake/store";
import { type DuckSession, sqlString } from "../silver/duckdb.ts";
import { singleFile } from "../silver/partition-writer.ts";
import type { Staging } from "../silver/staging.ts";

export const GOLD = {
  candles: {
    "1m": "candles_1m",
    "5m": "candles_5m",
    "15m": "candles_15m",
    "1h": "candles_1h",
    "1d": "candles_1d",
  },
  marketMetrics: "market_metrics_1m",
  dailySummary: "daily_summary",
  quality: "data_quality_hourly",
  reconciliation: "candle_reconciliation",
} as const;

/** One gold file: symbol partition value and file id (`2024-03-10` or `2024-03`). */
export interface GoldFile {
  readonly symbol: string;
  readonly file: string;
}

export function goldFileKey(dataset: string, f: GoldFile): string {
  return `gold/${dataset}/symbol=${f.symbol}/${f.file}.parquet`;
}

export function goldFileId(f: GoldFile): string {
  return `${f.symbol}|${f.file}`;
}

export function parseGoldFileKey(dataset: string, key: string): GoldFile | undefined {
  const m = new RegExp(`^gold/${dataset}/symbol=([^/]+)/([0-9-]+)\\.parquet$`).exec(key);
  return m ? { symbol: m[1] as string, file: m[2] as string } : undefined;
}

export class GoldWriteError extends Error {
  override readonly name = "GoldWriteError";
}

export interface StagedGoldFiles {
  readonly dataset: string;
  readonly files: ReadonlyMap<string, { readonly file: GoldFile; readonly rel: string }>;
  /** Files this write owns: those without a staged file are deleted on publish. */
  readonly owned: readonly GoldFile[];
}

/** Stages `select` (dataset columns + `p_symbol`, `p_file`) as one file per (symbol, file id). */
export async function stageGoldFiles(
  duck: DuckSession,
  staging: Staging,
  dataset: string,
  select: string,
  orderBy: string,
  owned: readonly GoldFile[],
): Promise<StagedGoldFiles> {
  const dir = `${staging.dir}/${dataset}`;
  await duck.run(`COPY (
  SELECT * FROM (${select}) ORDER BY p_symbol, p_file, ${orderBy}
) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (p_symbol, p_file), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE, WRITE_PARTITION_COLUMNS false)`);
  const ownedIds = new Set(owned.map(goldFileId));
  const grouped = new Map<string, { file: GoldFile; rels: string[] }>();
  for (const rel of staging.files(dataset)) {
    const m = /p_symbol=([^/]+)\/p_file=([^/]+)\/[^/]+\.parquet$/.exec(rel);
    if (!m) throw new GoldWriteError(`${dataset}: unexpected staged file ${rel}`);
    const file: GoldFile = {
      symbol: decodeURIComponent(m[1] as string),
      file: decodeURIComponent(m[2] as string),
    };
    const id = goldFileId(file);
    if (!ownedIds.has(id))
      throw new GoldWriteError(`${dataset}: staged file ${id} outside the files this run owns`);
    const g = grouped.get(id) ?? { file, rels: [] };
    g.rels.push(rel);
    grouped.set(id, g);
  }
  const files = new Map<string, { file: GoldFile; rel: string }>();
  for (const [id, g] of grouped)
    files.set(id, { file: g.file, rel: await singleFile(duck, staging, g.rels, orderBy) });
  return { dataset, files, owned };
}

export async function publishGoldFiles(
  store: LakeStore,
  staging: Staging,
  staged: StagedGoldFiles,
): Promise<{ published: number; deleted: number }> {
  let published = 0;
  let deleted = 0;
  for (const { file, rel } of staged.files.values()) {
    await staging.publish(rel, goldFileKey(staged.dataset, file));
    published += 1;
  }
  for (const f of staged.owned) {
    if (staged.files.has(goldFileId(f))) continue;
    const key = goldFileKey(staged.dataset, f);
    if (await store.exists(key)) {
      await store.delete(key);
      deleted += 1;
    }
  }
  return { published, deleted };
}
