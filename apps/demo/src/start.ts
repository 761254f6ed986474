/**
 * `bun run start`: the long-running mode. Starts the stack's services, then every app as a
 * supervised child: the Kraken ingester (live Kraken unless KRAKEN_* point elsewhere), CDC when a
 * PostgreSQL is configured, the lake (bronze writer and compaction), the scheduler of every app's
 * jobs (`bun run jobs start`: silver, gold, CSV export, CDC, notebooks) and the console. A child
 * that dies is restarted with capped exponential backoff; SIGINT/SIGTERM stop them all gracefully
 * (flush, commit, save cursors).
 */
import { join } from "node:path";
import { type BackoffPolicy, backoffDelayMs } from "@tributary/shared/backoff";
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { stackUp } from "@tributary/stack/stack";
import { AppProcess, type ChildSpec } from "./children.ts";

const USAGE = `usage: bun run start
  the long-running mode: the stack, then the ingester, CDC (when PostgreSQL is configured), the lake
  writer, the scheduler of every app's jobs and the console, restarted when they crash (Ctrl-C stops).`;
commandLineOrExit("start", USAGE, process.argv.slice(2), (argv) => parseCommandLine(argv, {}));
const config = loadConfigOrExit();
const log = createLogger("start", config.logLevel);
const logDir = join(config.stateDir, "logs");

const specs: ChildSpec[] = [
  { name: "ingest", args: ["apps/ingest/src/cli.ts"] },
  // The lake's own scheduler stays off: `jobs start` runs the lake's jobs together with the other apps'.
  { name: "lake", args: ["apps/lake/src/cli.ts", "--jobs", "bronze,compaction"] },
  { name: "jobs", args: ["apps/jobs/src/cli.ts", "start"] },
  { name: "console", args: ["apps/console/src/cli.ts"] },
];
if (config.stack.services.includes("postgres") || process.env.PG_URL !== undefined) {
  specs.splice(1, 0, { name: "cdc", args: ["apps/ingest/src/cdc/cli.ts"] });
}

/** A child that keeps dying is restarted after 1 s, 2 s, 4 s … up to 30 s. */
const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000 };
let stopping = false;
const running = new Map<string, AppProcess>();

async function supervise(spec: ChildSpec): Promise<void> {
  let failures = 0;
  while (!stopping) {
    const proc = new AppProcess(spec, logDir).start();
    running.set(spec.name, proc);
    log.info("started", { app: spec.name, pid: proc.pid, log: proc.logFile });
    const startedAt = Date.now();
    const code = await proc.exited;
    if (stopping) return;
    failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
    const delay = backoffDelayMs(RESTART_BACKOFF, failures - 1);
    log.warn("exited; restarting", { app: spec.name, code, in_ms: Math.round(delay), log: proc.logFile });
    await Bun.sleep(delay);
  }
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info("stopping every app", { signal });
  await Promise.allSettled([...running.values()].map((p) => p.stop(30_000)));
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

const statuses = await stackUp({ say: (l) => log.info(l) });
const down = statuses.filter((s) => s.state !== "up");
if (down.length > 0) {
  log.error("stack not healthy", { down: down.map((s) => s.name) });
  process.exit(1);
}
log.info("Tributary is running", {
  console: `http://${config.console.host}:${config.console.port}`,
  kraken: config.kraken.wsUrl,
  lake: config.lake.uri,
  logs: logDir,
});
await Promise.all(specs.map((s) => supervise(s)));
