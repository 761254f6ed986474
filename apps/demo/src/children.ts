/**
 * The apps as child processes: started with `bun <entry>`, output to a log file, stopped with
 * SIGTERM (graceful: flush, commit, save cursors) and SIGKILL only after a grace period.
 */
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..", "..");

export interface ChildSpec {
  readonly name: string;
  /** Script path relative to the repository root, then its arguments. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export class AppProcess {
  private proc: Subprocess | undefined;
  readonly logFile: string;

  constructor(
    readonly spec: ChildSpec,
    logDir: string,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.logFile = join(logDir, `${spec.name}.log`);
  }

  start(): this {
    const fd = openSync(this.logFile, "a");
    this.proc = Bun.spawn(["bun", ...this.spec.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.spec.env },
      stdin: "ignore",
      stdout: fd,
      stderr: fd,
    });
    return this;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get exited(): Promise<number> {
    return this.proc ? this.proc.exited : Promise.resolve(0);
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(graceMs = 30_000): Promise<number | null> {
    const p = this.proc;
    if (!p || !this.running) return p?.exitCode ?? null;
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
    try {
      return await p.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs `bun <args>` to completion, output appended to the log; resolves with the exit code and stdout. */
export async function runToEnd(
  spec: ChildSpec,
  logDir: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string }> {
  mkdirSync(logDir, { recursive: true });
  const proc = Bun.spawn(["bun", ...spec.args], {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: Bun.file(join(logDir, `${spec.name}.log`)),
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const stdout = await new Response(proc.stdout).text();
    const code = await proc.exited;
    return { code, stdout };
  } finally {
    clearTimeout(timer);
  }
}

/** Parses `30s`, `2m`, `90` (seconds), `1h` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration ${JSON.stringify(text)}: expected a duration such as 30s, 2m or 90`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"]);
}
