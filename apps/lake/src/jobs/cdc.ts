import type { Config } from "@tributary/shared/config";
import type { JobContext, JobDefinition } from "@tributary/shared/scheduler/job";
import { runTesouroGold, TESOURO_GOLD_JOB } from "../gold/tesouro/tesouro.ts";
import type { LakeJobEnv } from "../runtime/env.ts";
import { cdcSilverJob, runCdcSilver } from "../silver/cdc/replay.ts";
import { type CdcTable, TESOURO_COLUMNS } from "../silver/cdc/tables.ts";
import { lakeJobEnv } from "./job-env.ts";

export function cdcJobEnv(config: Config, ctx: Pick<JobContext, "log" | "signal">): LakeJobEnv {
  return lakeJobEnv(config, ctx, "cdc", 1024);
}

/** The configured CDC tables; a table named `tesouro_prices` gets the Tesouro schema (typed silver). */
export function configuredCdcTables(config: Config): CdcTable[] {
  return config.cdc.tables.map((name) => {
    const [schema = "", table = ""] = name.split(".");
    return table === "tesouro_prices" ? { schema, table, columns: TESOURO_COLUMNS } : { schema, table };
  });
}

export function cdcJobs(config: Config): JobDefinition[] {
  const tables = configuredCdcTables(config);
  const jobs: JobDefinition[] = tables.map((table) => ({
    name: cdcSilverJob(table),
    pattern: "*/30 * * * * *",
    description: `Bronze CDC events of ${table.schema}.${table.table} → silver current state and history`,
    timeoutMs: 15 * 60_000,
    retries: 2,
    run: async (ctx) => {
      const res = await runCdcSilver(cdcJobEnv(config, ctx), table);
      return { rows: res.rows, detail: { ...res } };
    },
  }));
  const tesouro = tables.find((t) => t.table === "tesouro_prices");
  if (tesouro) {
    jobs.push({
      name: TESOURO_GOLD_JOB,
      pattern: "*/30 * * * * *",
      description: "Tesouro silver → gold yield curves, buy/sell spreads, daily change, latest curve",
      timeoutMs: 15 * 60_000,
      retries: 2,
      after: [cdcSilverJob(tesouro)],
      run: async (ctx) => {
        const res = await runTesouroGold(cdcJobEnv(config, ctx), tesouro);
        return { rows: Object.values(res.rows).reduce((a, b) => a + b, 0), detail: { ...res } };
      },
    });
  }
  return jobs;
}
