/** The environment of one scheduled lake job run, built from Config at the edge. */
import { join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { openCatalog } from "@tributary/shared/lake/iceberg/open-catalog";
import { createLakeStore } from "@tributary/shared/lake/store";
import type { JobContext } from "@tributary/shared/scheduler/job";
import type { LakeJobEnv } from "../runtime/env.ts";

/**
 * A run's env: the configured lake, its commit log, the Iceberg catalog its silver and gold tables
 * commit through (as bronze's), scratch space under `state/scratch/<family>`.
 */
export function lakeJobEnv(
  config: Config,
  ctx: Pick<JobContext, "log" | "signal">,
  family: string,
  memoryLimitMb: number,
): LakeJobEnv {
  const store = createLakeStore(config);
  return {
    store,
    commitLog: new CommitLog(store),
    catalog: openCatalog(config, store),
    log: ctx.log,
    signal: ctx.signal,
    scratchDir: join(config.stateDir, "scratch", family),
    duck: { memoryLimitMb },
  };
}
