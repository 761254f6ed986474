/**
 * Where the query engine spills: `<stateDir>/console/spill/<pid>`, one directory per console process
 * so two consoles on one state dir never share files; directories of processes that are gone are
 * removed when the next console starts.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export function claimSpillDir(stateDir: string, pid = process.pid): string {
  const parent = join(stateDir, "console", "spill");
  mkdirSync(parent, { recursive: true });
  for (const name of readdirSync(parent)) {
    const owner = Number(name);
    if (Number.isInteger(owner) && owner !== pid && alive(owner)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
  const dir = join(parent, String(pid));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
