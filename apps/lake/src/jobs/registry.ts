/**
 * The lake's scheduled jobs (silver, gold, the CSV export, CDC silver/gold and their upkeep, the
 * Iceberg tables' snapshot expiry and orphan removal). A layer
 * adds its jobs by exporting a factory from `jobs/` (as `marketJobs(config)` does) and listing it here.
 * The lake's own scheduler (`bun run lake`) runs these; `apps/jobs` composes them with other apps' jobs.
 */
import type { Config } from "@tributary/shared/config";
import type { JobDefinition } from "@tributary/shared/scheduler/job";
import { cdcJobs } from "./cdc.ts";
import { icebergJobs } from "./iceberg.ts";
import { marketJobs } from "./market.ts";

export function lakeScheduledJobs(config: Config): JobDefinition[] {
  return [...marketJobs(config), ...cdcJobs(config), ...icebergJobs(config)];
}
