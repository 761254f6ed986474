/**
 * Gold bond datasets from the Tesouro silver table, rebuilt whole each run (a few thousand rows per
 * base date) and published one file per dataset, atomically: `gold/<dataset>/part-0.parquet`.
 */
import { type DuckSession, openDuckSession, sqlString } from "../silver/duckdb.ts";
import type { LakeJobEnv } from "../silver/env.ts";
import { LakeReader } from "../silver/lake-reader.ts";
import { createStaging } from "../silver/staging.ts";
import { SILVER_FILE } from "./silver.ts";
import { type CdcTable, cdcDatasetName, tesouroTable } from "./tables.ts";
import {
  DAILY_CHANGE_SELECT,
  LATEST_CURVE_SELECT,
  SPREADS_SELECT,
  TESOURO_GOLD,
  YIELD_CURVE_SELECT,
} from "./tesouro-gold.sql.ts";

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
  const silverKey = `silver/${cdcDatasetName(table)}/${SILVER_FILE}`;
  if (!(await env.store.exists(silverKey))) {
    throw new TesouroGoldError(
      `${silverKey} does not exist yet: run CDC silver for ${table.schema}.${table.table} first`,
    );
  }
  const reader = new LakeReader(env.store, env.scratchDir);
  const staging = createStaging(env.store, TESOURO_GOLD_JOB, env.scratchDir);
  let duck: DuckSession | undefined;
  try {
    const [path] = await reader.paths([silverKey]);
    duck = await openDuckSession(env.duck);
    await duck.run(`CREATE TEMP TABLE prices AS SELECT * FROM read_parquet(${sqlString(path as string)})`);
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
  } finally {
    duck?.close();
    reader.dispose();
    staging.dispose();
  }
}
