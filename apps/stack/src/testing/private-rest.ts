/**
 * Test helper: the stack's Iceberg REST catalog run privately for one test file, on a free port,
 * with a random token, its state under `stateParent`, serving the lake at `lakeRoot`. `config` is the
 * configuration the lake's jobs (and any child process, through `env`) use to commit through it. A
 * watchdog stops the catalog if the test process is killed before `stop()`.
 */
import { join } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { freePort } from "@tributary/shared/net/ports";
import { icebergRestService, icebergRestUrl } from "../services/iceberg-rest.ts";
import { startWatchdog } from "./watchdog.ts";

export interface PrivateRestCatalog {
  readonly config: Config;
  readonly url: string;
  readonly token: string;
  /** What a child process needs in its environment to commit through this catalog. */
  readonly env: Readonly<Record<string, string>>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function privateRestCatalog(lakeRoot: string, stateParent: string): PrivateRestCatalog {
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
  const port = freePort();
  const env = {
    LAKE_URI: lakeRoot,
    ICEBERG_REST_URI: `http://127.0.0.1:${port}`,
    ICEBERG_REST_TOKEN: token,
  };
  const config = loadConfig({ ...process.env, ...env, STACK_ICEBERG_REST_PORT: String(port) });
  const ctx = { config, dir: join(stateParent, "iceberg-rest-state"), say: () => undefined };
  let watchdog: Bun.Subprocess | undefined;
  return {
    config,
    url: icebergRestUrl(config),
    token,
    env,
    async start() {
      // If the test process is killed, the catalog's JVM and state go with it.
      watchdog = startWatchdog(process.pid, [
        `r=$(cat '${join(ctx.dir, "iceberg-rest.pid")}' 2>/dev/null) && kill -9 "$r" 2>/dev/null`,
        `rm -rf '${ctx.dir}'`,
      ]);
      await icebergRestService.start(ctx);
    },
    async stop() {
      await icebergRestService.stop(ctx);
      watchdog?.kill("SIGKILL");
    },
  };
}
