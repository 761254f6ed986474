/** `bun run jobs list|run|backfill|history|start` over every app's scheduled jobs (./registry.ts). */
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { processStopSignal, runJobsCli } from "@tributary/shared/scheduler/cli";
import { scheduledJobs } from "./registry.ts";

const config = loadConfigOrExit();
const log = createLogger("jobs", config.logLevel);
const code = await runJobsCli(process.argv.slice(2), {
  config,
  jobs: scheduledJobs(config),
  log,
  io: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: process.stderr,
    stopSignal: processStopSignal(),
  },
});
process.exit(code);
