/**
 * Test helper: runs the real CLI (`bun apps/lake/src/cli.ts --jobs bronze …`) as a child process,
 * so crash tests can `kill -9` it, and follows its stderr for the protocol events they wait on.
 */
import { join } from "node:path";
import type { Subprocess } from "bun";
import { FAULT_MARKER } from "./faults.ts";

const REPO_ROOT = join(import.meta.dir, "../../../..");
const CLI = join(import.meta.dir, "../cli.ts");

/**
 * CLI arguments for a child writer that lands one trades topic in `dataset` (`kraken_trades` by
 * default), with a short session timeout so a killed child's partitions move on quickly.
 */
export function tradesWriterArgs(topic: string, dataset = "kraken_trades"): string[] {
  return ["--topics", topic, "--routes", `${topic}=${dataset}:kraken`, "--session-timeout-ms", "6000"];
}

export interface WriterChild {
  readonly proc: Subprocess<"ignore", "ignore", "pipe">;
  /** Resolves when the child logged that it resumed a partition from the lake (it is consuming). */
  readonly consuming: Promise<void>;
  /** The fault point the child reported before killing itself, if any. */
  faultPoint(): string | undefined;
  /** Last stderr lines, for failure messages. */
  tail(): string;
  /** Resolves with the exit code (null if killed by a signal) once the child is gone and its stderr read. */
  readonly exited: Promise<number | null>;
  kill9(): void;
  terminate(): void;
}

export function spawnWriter(env: Record<string, string>, args: readonly string[]): WriterChild {
  const proc = Bun.spawn(["bun", CLI, "--jobs", "bronze", "--metrics-port", "0", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const lines: string[] = [];
  let fault: string | undefined;
  let onConsuming: () => void = () => undefined;
  const consuming = new Promise<void>((resolve) => {
    onConsuming = resolve;
  });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of proc.stderr) {
      rest += decoder.decode(chunk, { stream: true });
      let nl = rest.indexOf("\n");
      while (nl >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line.startsWith(FAULT_MARKER)) fault = line.slice(FAULT_MARKER.length + 1).trim();
        if (line.includes("partition resumes from the lake")) onConsuming();
        lines.push(line);
        if (lines.length > 40) lines.shift();
        nl = rest.indexOf("\n");
      }
    }
  })();
  return {
    proc,
    consuming,
    faultPoint: () => fault,
    tail: () => lines.join("\n"),
    // Settles after stderr is fully read, so the fault marker of a self-kill is never missed.
    exited: Promise.all([proc.exited, reading.catch(() => undefined)]).then(() => proc.exitCode),
    kill9: () => proc.kill("SIGKILL"),
    terminate: () => proc.kill("SIGTERM"),
  };
}
