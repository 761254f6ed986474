/** Process bookkeeping for the stack's native services: pid files, liveness, detached spawning. */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { Backoff } from "@tributary/shared/backoff";

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when `pid` runs and its command line carries our marker (guards against recycled pids). */
export function isOurProcess(pid: number | undefined, marker: string): boolean {
  if (pid === undefined) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

export interface SpawnOptions {
  readonly cmd: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly cwd?: string;
  readonly env?: Record<string, string>;
}

/** Starts a long-lived service detached from this process, its output appended to `logFile`. */
export function spawnDetached(opts: SpawnOptions): number {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  try {
    const child = Bun.spawn([...opts.cmd], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdin: "ignore",
      stdout: fd,
      stderr: fd,
      detached: true,
    });
    child.unref();
    writeFileSync(opts.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export async function stopPid(pid: number, graceMs: number): Promise<"stopped" | "killed"> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return "stopped";
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return "stopped";
    await Bun.sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
  return "killed";
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); /proc tells the truth.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** Resolves true when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await Bun.sleep(backoff.next());
  }
  throw new StackError(`${what} was not ready within ${Math.round(timeoutMs / 1000)} s`);
}

export class StackError extends Error {
  override readonly name = "StackError";
}

/**
 * Before starting a service: its port must be free, since a process this stack did not start holds
 * it otherwise. `settings` names what the user can change instead (e.g. `STACK_KAFKA_PORT and KAFKA_BROKERS`).
 */
export async function ensurePortFree(port: number, settings: string): Promise<void> {
  if (await portOpen("127.0.0.1", port))
    throw new StackError(
      `port ${port} is taken by a process this stack did not start; stop it or set ${settings}`,
    );
}

/** Finds an executable on PATH (or an absolute path), or undefined. */
export function which(name: string): string | undefined {
  return Bun.which(name) ?? undefined;
}
