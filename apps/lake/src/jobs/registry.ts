/**
 * Every scheduled job of the lake, in one registry that `bun run jobs` and the lake process share.
 * A layer adds its jobs by exporting a factory from its own module (as `marketJobs(config)` in
 * `./market.ts` does for silver, gold, the CSV export and their maintenance) and listing it here.
 */
import type { Config } from "@tributary/shared/config";
import { pruneHistoryJob } from "@tributary/shared/scheduler/housekeeping";
import type { JobDefinition } from "@tributary/shared/scheduler/job";
import { cdcJobs } from "../cdc/jobs.ts";
import { marketJobs } from "./market.ts";
import { notebookJobs } from "./notebooks.ts";

export function registeredJobs(config: Config): JobDefinition[] {
  return [...marketJobs(config), ...cdcJobs(config), ...notebookJobs(config), pruneHistoryJob(config)];
}
