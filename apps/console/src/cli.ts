/** `bun run console`: the web console on CONSOLE_HOST:CONSOLE_PORT (127.0.0.1:8080 by default). */
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { BindError } from "./security/auth.ts";
import { startConsole } from "./server.ts";

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
