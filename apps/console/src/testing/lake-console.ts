/**
 * Test support: the console over a lake directory, with its own state and notebooks directories, no
 * sources to poll, and a silent log; `stop` also removes what it created.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { type RunningConsole, startConsole } from "../server.ts";

export async function startLakeConsole(lakeRoot: string, name: string): Promise<RunningConsole> {
  const scratch = mkdtempSync(join(tmpdir(), `${name}-`));
  const config = loadConfig({
    ...process.env,
    LAKE_URI: lakeRoot,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
    CONSOLE_NOTEBOOKS_DIR: join(scratch, "notebooks"),
  });
  const running = await startConsole(config, { port: 0, log: createLogger(name, "error", () => {}) });
  return {
    ...running,
    async stop() {
      await running.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
