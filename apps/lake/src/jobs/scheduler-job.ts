/**
 * `scheduler` lake job: runs the registered layer jobs (silver, gold, CSV export, CDC silver/gold,
 * notebooks) on their croner slots inside `bun run lake`, with catch-up after downtime and the
 * console's run/backfill requests. Run it in one process per lake (the job locks also guard overlap).
 */
import { createScheduler } from "@tributary/shared/scheduler/scheduler";
import type { LakeJob } from "../lake-jobs.ts";
import { registeredJobs } from "./registry.ts";

export const schedulerLakeJob: LakeJob = {
  name: "scheduler",
  description: "runs silver, gold, the CSV export and the notebooks on their schedules (UTC)",
  defaultOn: true,
  async start(config, args) {
    const scheduler = createScheduler(config, registeredJobs(config), args.logger.child("scheduler"));
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
