/**
 * `bun run lake [--jobs bronze,compaction] [--topics a,b] [--routes t=dataset:kraken] [--metrics-port N]`: runs the lake's
 * long-running jobs (bronze writer, compaction, and the layer jobs registered in lake-jobs.ts) until
 * SIGINT/SIGTERM, then stops them gracefully (the writer flushes and commits what it buffered).
 * `bun run lake migrate [--dry-run]` brings the lake to the current path layout instead (migrate/).
 * Test-only: TRIBUTARY_FAULT_POINT / TRIBUTARY_FAULT_PROB / TRIBUTARY_FAULT_SEED make the writer
 * SIGKILL itself at a protocol step (see bronze/faults.ts).
 */
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { type Config, loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { bronzeCompactionJob } from "./jobs/bronze-compaction.ts";
import { bronzeWriterJob } from "./jobs/bronze-writer.ts";
import {
  type LakeJob,
  type LakeJobArgs,
  type LakeJobHandle,
  lakeJob,
  lakeJobs,
  registerLakeJob,
} from "./jobs/lake-jobs.ts";
import { schedulerLakeJob } from "./jobs/scheduler-job.ts";
import { MIGRATE_SYNOPSIS, runMigrateCommand } from "./migrate/command.ts";

registerLakeJob(bronzeWriterJob);
registerLakeJob(bronzeCompactionJob);
registerLakeJob(schedulerLakeJob);

export { startBronzeWriter } from "./bronze/writer.ts";

/** Starts the selected jobs; returns their handles (stopped together by the caller). */
export async function runLakeJobs(
  config: Config,
  names: readonly string[] | undefined,
  args: LakeJobArgs,
): Promise<LakeJobHandle[]> {
  const selected: LakeJob[] = [];
  for (const name of names ??
    lakeJobs()
      .filter((j) => j.defaultOn)
      .map((j) => j.name)) {
    const job = lakeJob(name);
    if (job === undefined)
      throw new Error(
        `unknown lake job ${JSON.stringify(name)}; known: ${lakeJobs()
          .map((j) => j.name)
          .join(", ")}`,
      );
    selected.push(job);
  }
  const handles: LakeJobHandle[] = [];
  try {
    for (const job of selected) handles.push(await job.start(config, args));
  } catch (err) {
    await Promise.allSettled(handles.map((h) => h.stop()));
    throw err;
  }
  return handles;
}

async function main(): Promise<void> {
  if (process.argv[2] === "migrate") return runMigrateCommand(process.argv.slice(3));
  const usage = [
    "usage: bun run lake [--jobs a,b] [--topics t1,t2] [--routes topic=dataset:kraken|cdc,…] [--metrics-port N] [--session-timeout-ms N]",
    `       ${MIGRATE_SYNOPSIS}   bring the lake to the current path layout (bun run lake migrate --help)`,
    "jobs:",
    ...lakeJobs().map((j) => `  ${j.name.padEnd(12)} ${j.description}${j.defaultOn ? " (default)" : ""}`),
  ].join("\n");
  const { values } = commandLineOrExit("lake", usage, process.argv.slice(2), (argv) =>
    parseCommandLine(argv, {
      jobs: { type: "string" },
      topics: { type: "string" },
      routes: { type: "string" },
      "metrics-port": { type: "string" },
      "session-timeout-ms": { type: "string" },
    }),
  );
  const config = loadConfigOrExit();
  const logger = createLogger("lake", config.logLevel);
  const list = (v: string | undefined): string[] | undefined =>
    v === undefined
      ? undefined
      : v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
  const port = values["metrics-port"];
  if (port !== undefined && !/^\d{1,5}$/.test(port)) {
    console.error(`--metrics-port ${JSON.stringify(port)}: expected a port number (0 for any free port)`);
    process.exit(2);
  }
  const session = values["session-timeout-ms"];
  if (session !== undefined && !/^\d{4,6}$/.test(session)) {
    console.error(`--session-timeout-ms ${JSON.stringify(session)}: expected milliseconds (e.g. 6000)`);
    process.exit(2);
  }
  // Signals are handled from the start: a stop requested while jobs start waits for them, then stops them.
  let stopRequested: string | undefined;
  let stopNow: (signal: string) => void = (signal) => {
    stopRequested = signal;
  };
  process.on("SIGINT", () => stopNow("SIGINT"));
  process.on("SIGTERM", () => stopNow("SIGTERM"));
  const handles = await runLakeJobs(config, list(values.jobs), {
    topics: list(values.topics),
    routes: values.routes,
    metricsPort: port === undefined ? undefined : Number(port),
    sessionTimeoutMs: session === undefined ? undefined : Number(session),
    faultPoint: process.env.TRIBUTARY_FAULT_POINT,
    faultProbability: process.env.TRIBUTARY_FAULT_PROB,
    faultSeed: process.env.TRIBUTARY_FAULT_SEED,
    logger,
  });
  let stopping = false;
  stopNow = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping lake jobs", { signal });
    void Promise.allSettled(handles.map((h) => h.stop())).then(() => process.exit(0));
  };
  if (stopRequested !== undefined) stopNow(stopRequested);
  try {
    await Promise.all(handles.map((h) => h.done));
  } catch (err) {
    logger.error("a lake job failed", { error: err });
    await Promise.allSettled(handles.map((h) => h.stop()));
    process.exit(1);
  }
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
