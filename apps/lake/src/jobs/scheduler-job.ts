/**
 * `scheduler` lake job: runs the lake's scheduled jobs (silver, gold, CSV export, CDC silver/gold) on
 * their croner slots inside `bun run lake`, with catch-up after downtime and the console's run/backfill
 * requests. `bun run jobs start` (apps/jobs) runs every app's jobs instead; run one scheduler per lake
 * (`bun run start` runs `lake --jobs bronze,compaction` beside `jobs start`; the job locks also guard overlap).
 */
import { pruneHistoryJob } from "@tributary/shared/scheduler/housekeeping";
import { createScheduler } from "@tributary/shared/scheduler/scheduler";
import type { LakeJob } from "./lake-jobs.ts";
import { lakeScheduledJobs } from "./registry.ts";

export const schedulerLakeJob: LakeJob = {
  name: "scheduler",
  description: "runs silver, gold, the CSV export and CDC silver/gold on their schedules (UTC)",
  defaultOn: true,
  async start(config, args) {
    const scheduler = createScheduler(
      config,
      [...lakeScheduledJobs(config), pruneHistoryJob(config)],
      args.logger.child("scheduler"),
    );
    await scheduler.start();
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    return {
      done,
      async stop() {
        await scheduler.stop("lake stopping");
        finish();
      },
    };
  },
};
