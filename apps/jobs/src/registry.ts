/**
 * Every scheduled job of Tributary, composed from the apps that define them: the ingest's (Kraken's
 * OHLC), the lake's layer jobs, the notebook refresh, and the scheduler's own upkeep. This is the one
 * place that knows all apps, so the apps never depend on each other to be scheduled.
 */
import { ingestJobs } from "@tributary/ingest/jobs";
import { lakeScheduledJobs } from "@tributary/lake/jobs/registry";
import { notebookJobs } from "@tributary/notebooks/jobs";
import type { Config } from "@tributary/shared/config";
import { pruneHistoryJob } from "@tributary/shared/scheduler/housekeeping";
import type { JobDefinition } from "@tributary/shared/scheduler/job";

export function scheduledJobs(config: Config): JobDefinition[] {
  return [
    ...ingestJobs(config),
    ...lakeScheduledJobs(config),
    ...notebookJobs(config),
    pruneHistoryJob(config),
  ];
}
