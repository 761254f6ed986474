/**
 * Gold bond datasets from the Tesouro silver table, rebuilt whole each run (a few thousand rows per
 * base date) and published one file per dataset, `gold/<dataset>/part-0.parquet`, through the staged
 * publish every gold job shares: each dataset's run is one snapshot of its Iceberg table.
 */
import { mkdirSync } from "node:fs";
import { sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { snapshotReader } from "../../runtime/snapshot-reader.ts";
import { collectStaged, type FileLayout, publishStaged } from "../../runtime/staged-publish.ts";
import { createStaging } from "../../runtime/staging.ts";
import { type CdcTable, cdcDatasetName, SILVER_FILE, tesouroTable } from "../../silver/cdc/tables.ts";
import { TESOURO_GOLD } from "../datasets.ts";
import {
  DAILY_CHANGE_SELECT,
  LATEST_CURVE_SELECT,
  SPREADS_SELECT,
  YIELD_CURVE_SELECT,
} from "./tesouro.sql.ts";

export const TESOURO_GOLD_JOB = "gold.tesouro";

/** A dataset of one file, rewritten whole by every run. */
const WHOLE_DATASET: FileLayout<"whole"> = {
  id: () => "whole",
  key: (dataset) => `gold/${dataset}/${SILVER_FILE}`,
  parseStaged: (rel) => (rel.endsWith(".parquet") ? "whole" : undefined),
};

export class TesouroGoldError extends Error {
  override readonly name = "TesouroGoldError";
}

export interface TesouroGoldResult {
  /** Rows per gold dataset. */
  readonly rows: Readonly<Record<string, number>>;
  readonly keys: readonly string[];
}

export async function runTesouroGold(
  env: LakeJobEnv,
  table: CdcTable = tesouroTable(),
): Promise<TesouroGoldResult> {
  const silverDir = `silver/${cdcDatasetName(table)}/`;
  // Silver through its pinned snapshot: one whole silver run, named in gold's snapshots.
  using reader = snapshotReader(env, ["silver"]);
  const silverKeys = await reader.parquetKeys(silverDir);
  if (silverKeys.length === 0) {
    throw new TesouroGoldError(
      `${silverDir} has no files yet: run CDC silver for ${table.schema}.${table.table} first`,
    );
  }
  using staging = createStaging(env.store, TESOURO_GOLD_JOB, env.scratchDir);
  const paths = await reader.paths(silverKeys);
  using duck = await openJobDuck(env);
  await duck.run(`CREATE TEMP TABLE prices AS SELECT * FROM read_parquet(${sqlStringList(paths)})`);
  const outputs: [string, string][] = [
    [TESOURO_GOLD.yieldCurve, YIELD_CURVE_SELECT],
    [TESOURO_GOLD.spreads, SPREADS_SELECT],
    [TESOURO_GOLD.dailyChange, DAILY_CHANGE_SELECT],
    [TESOURO_GOLD.latestCurve, LATEST_CURVE_SELECT],
  ];
  const rows: Record<string, number> = {};
  const keys: string[] = [];
  const staged = [];
  for (const [dataset, select] of outputs) {
    mkdirSync(`${staging.dir}/${dataset}`, { recursive: true });
    await duck.run(
      `COPY (${select}) TO ${sqlString(`${staging.dir}/${dataset}/${SILVER_FILE}`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    rows[dataset] = Number(await duck.scalar(`SELECT count(*) FROM (${select})`));
    staged.push(await collectStaged(duck, staging, WHOLE_DATASET, dataset, "ALL", ["whole"]));
    keys.push(WHOLE_DATASET.key(dataset, "whole"));
  }
  await publishStaged(env, staging, staged, { summary: await reader.snapshotsRead() });
  return { rows, keys };
}
