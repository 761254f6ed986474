/**
 * A real scheduler process for the "killed job process" test: it owns `test.sleepy` (which runs
 * until aborted) and `test.count` , starts a run of `test.sleepy` and waits. The test kills it
 * with SIGKILL mid-run. Usage: bun job-process.ts <state dir>
 */
import { createLogger } from "@tributary/shared/log";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { Scheduler } from "@tributary/shared/scheduler/scheduler";
import { sleep } from "@tributary/shared/sleep";

const stateDir = process.argv[2];
if (!stateDir) {
  process.stderr.write("usage: bun job-process.ts <state dir>\n");
  process.exit(2);
}
const history = RunHistory.open(historyPath(stateDir));
const scheduler = new Scheduler({
  jobs: [
    {
      name: "test.sleepy",
      pattern: "0 0 1 1 *",
      description: "Runs until it is aborted (killed mid-run by the test)",
      timeoutMs: 600_000,
      async run(ctx) {
        ctx.progress(1, 3, "working");
        await sleep(600_000, ctx.signal);
        return {};
      },
    },
  ],
  history,
  log: createLogger("job-process", "error"),
  heartbeatMs: 500,
});
await scheduler.start({ schedule: false, catchUp: false });
void scheduler.trigger("test.sleepy");
process.stdout.write("running\n");
