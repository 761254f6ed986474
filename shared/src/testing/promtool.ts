/**
 * Prometheus's own `promtool check metrics`, the independent parser and linter that every `/metrics`
 * test checks its exposition against. `bun run setup` installs it from Debian's `prometheus` package.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config.ts";

/** Where `bun run setup` puts promtool when the machine has none on PATH. */
export function promtoolInstallPath(stateDir: string): string {
  return join(stateDir, "tools", "promtool");
}

export function findPromtool(stateDir = loadConfig().stateDir): string {
  const local = promtoolInstallPath(stateDir);
  const found = Bun.which("promtool") ?? (existsSync(local) ? local : undefined);
  if (!found)
    throw new Error(
      `promtool not found on PATH nor at ${local}: run \`bun run setup\` (it extracts it from Debian's prometheus package)`,
    );
  return found;
}

export interface PromtoolVerdict {
  /** 0: valid and lint-clean; 3: valid with lint problems; 1: not parseable. */
  readonly exitCode: number;
  /** promtool's findings, one per line. */
  readonly problems: readonly string[];
}

/** Runs `promtool check metrics` on an exposition text. */
export function checkMetrics(text: string): PromtoolVerdict {
  const proc = Bun.spawnSync([findPromtool(), "check", "metrics"], { stdin: Buffer.from(text) });
  const problems = `${proc.stdout.toString()}${proc.stderr.toString()}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return { exitCode: proc.exitCode ?? -1, problems };
}
