/**
 * A private stack instance for destructive tests (kill -9 a broker, restart PostgreSQL): Kafka and/or
 * PostgreSQL started by the stack's own code on free ports, with their own state directory under a
 * temp dir, so the shared stack that every other test uses is never touched. Start one per test file.
 * A watchdog shell stops the services and deletes the state if the test process dies without `close()`.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, type Env, loadConfig } from "@tributary/shared/config";
import { freePort } from "@tributary/shared/net/ports";
import { readPid } from "../proc.ts";
import { postmasterPid } from "../services/postgres.ts";
import type { ServiceStatus } from "../services/service.ts";
import { stackDown, stackStatus, stackUp } from "../stack.ts";
import { startWatchdog } from "./watchdog.ts";

export type PrivateService = "kafka" | "postgres";

export interface PrivateStack extends AsyncDisposable {
  /** The environment that points the config (and child processes) at the private services. */
  readonly env: Env;
  readonly config: Config;
  readonly stateDir: string;
  /** `bun run stack up` for the private instance (restarts what died). */
  up(only?: readonly PrivateService[]): Promise<ServiceStatus[]>;
  /** `bun run stack down` for the private instance (clean stop). */
  down(only?: readonly PrivateService[]): Promise<void>;
  status(only?: readonly PrivateService[]): Promise<ServiceStatus[]>;
  /** The pid of a running service's main process (the Kafka JVM, the postmaster). */
  pid(service: PrivateService): number | undefined;
  /** Stops every service and deletes the state directory. */
  close(): Promise<void>;
}

/** Copies the resolved Maven classpaths so the private Kafka starts from the same jars without Maven. */
function shareClasspaths(from: string, to: string): void {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f.startsWith("classpath-")) copyFileSync(join(from, f), join(to, f));
}

/** Stops the services of `stateDir` and deletes it once `owner` is gone, if the owner did not. */
function startStackWatchdog(owner: number, stateDir: string): Bun.Subprocess {
  return startWatchdog(owner, [
    `k=$(cat '${stateDir}/kafka/kafka.pid' 2>/dev/null) && kill -9 "$k" 2>/dev/null`,
    // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster ends its backends and frees shared memory.
    `p=$(head -n 1 '${stateDir}/postgres/data/postmaster.pid' 2>/dev/null) && kill -QUIT "$p" 2>/dev/null && sleep 3`,
    `rm -rf '${stateDir}'`,
  ]);
}

/**
 * Starts `services` privately. Everything else in the config (S3, the lake) stays as `base` has it;
 * the returned `env` also carries the shared S3 credentials so children reach the shared S3.
 */
export async function startPrivateStack(
  services: readonly PrivateService[],
  base: Config = loadConfig(),
  baseEnv: Env = process.env,
): Promise<PrivateStack> {
  const stateDir = mkdtempSync(join(tmpdir(), "tributary-private-stack-"));
  // PostgreSQL runs as the `postgres` user when we are root: it must be able to enter the dir.
  chmodSync(stateDir, 0o755);
  shareClasspaths(join(base.stateDir, "maven"), join(stateDir, "maven"));
  const env: Record<string, string | undefined> = {
    ...baseEnv,
    TRIBUTARY_STATE_DIR: stateDir,
    STACK_SERVICES: services.join(","),
    // A private broker lives for one test file: no C2 compiles it would not repay (jvm.ts).
    STACK_JVM: "quick",
    S3_ACCESS_KEY_ID: base.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: base.s3.secretAccessKey,
  };
  if (services.includes("kafka")) {
    const port = freePort();
    env.STACK_KAFKA_PORT = String(port);
    env.STACK_KAFKA_CONTROLLER_PORT = String(freePort());
    env.KAFKA_BROKERS = `127.0.0.1:${port}`;
  }
  if (services.includes("postgres")) {
    const port = freePort();
    env.STACK_POSTGRES_PORT = String(port);
    env.PG_URL = `postgres://tributary@127.0.0.1:${port}/tributary`;
  }
  const frozen = Object.freeze(env);
  const watchdog = startStackWatchdog(process.pid, stateDir);
  const say = () => undefined;
  let closed = false;
  const stack: PrivateStack = {
    env: frozen,
    config: loadConfig(frozen),
    stateDir,
    up: (only = services) => stackUp({ env: frozen, only, say }),
    down: (only = services) => stackDown({ env: frozen, only, say }),
    status: (only = services) => stackStatus({ env: frozen, only }),
    pid: (service) =>
      service === "kafka"
        ? readPid(join(stateDir, "kafka", "kafka.pid"))
        : postmasterPid(join(stateDir, "postgres", "data")),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await stackDown({ env: frozen, say });
      } finally {
        watchdog.kill("SIGKILL");
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
    [Symbol.asyncDispose]: () => stack.close(),
  };
  try {
    const statuses = await stack.up();
    const down = statuses.filter((s) => s.state !== "up");
    if (down.length > 0)
      throw new Error(`private stack not healthy: ${down.map((s) => `${s.name} ${s.state}`).join("; ")}`);
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}
