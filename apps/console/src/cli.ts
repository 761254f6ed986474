/** `bun run console`: the web console on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8080 by default). */
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { BindError } from "./security/auth.ts";
import { startConsole } from "./server.ts";

const USAGE = `usage: bun run console
  the web console and its API on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8080); see docs/console.md.
  Configuration comes from the environment and .env (CONSOLE_*, LAKE_URI, TRIBUTARY_STATE_DIR, …).`;
commandLineOrExit("console", USAGE, process.argv.slice(2), (argv) => parseCommandLine(argv, {}));
const config = loadConfigOrExit();
const log = createLogger("console", config.logLevel);
try {
  const running = await startConsole(config, { log });
  process.stdout.write(`Tributary console: ${running.url}\n`);
  const stop = async (signal: string): Promise<void> => {
    log.info("stopping", { signal });
    await running.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
} catch (err) {
  if (err instanceof BindError) {
    process.stderr.write(`refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
