/**
 * Gold bond datasets from the Tesouro silver table, rebuilt whole each run (a few thousand rows per
 * base date) and published one file per dataset, atomically: `gold/<dataset>/part-0.parquet`.
 */
import { sqlString, sqlStringList } from "../../runtime/duckdb.ts";
import { type LakeJobEnv, openJobDuck } from "../../runtime/env.ts";
import { LakeReader } from "../../runtime/lake-reader.ts";
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
  using reader = new LakeReader(env.store, env.scratchDir);
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
  for (const [dataset, select] of outputs) {
    await duck.run(
      `COPY (${select}) TO ${sqlString(`${staging.dir}/${dataset}.parquet`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    rows[dataset] = Number(await duck.scalar(`SELECT count(*) FROM (${select})`));
  }
  for (const [dataset] of outputs) {
    const key = `gold/${dataset}/${SILVER_FILE}`;
    await staging.publish(`${dataset}.parquet`, key);
    keys.push(key);
  }
  return { rows, keys };
}
