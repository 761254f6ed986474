/** Jobs that keep the scheduler itself tidy. */
import type { Config } from "../config.ts";
import { nowMicros } from "../time.ts";
import { historyPath, RunHistory } from "./history.ts";
import type { JobDefinition } from "./job.ts";

/** Deletes run history (runs, finished requests, stopped processes) older than SCHEDULER_HISTORY_DAYS. */
export function pruneHistoryJob(config: Pick<Config, "stateDir" | "scheduler">): JobDefinition {
  return {
    name: "scheduler.prune-history",
    pattern: "17 3 * * *",
    description: `Deletes run history older than ${config.scheduler.historyDays} days`,
    timeoutMs: 60_000,
    retries: 2,
    async run() {
      const history = RunHistory.open(historyPath(config.stateDir));
      try {
        const before = Number(nowMicros()) - config.scheduler.historyDays * 86_400_000_000;
        return { rows: history.prune(before), detail: { before: new Date(before / 1000).toISOString() } };
      } finally {
        history.close();
      }
    },
  };
}
