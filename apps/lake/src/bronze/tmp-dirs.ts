/**
 * A bronze writer's temporary directories (DuckDB spill, COPY output), named by process so that the
 * dirs of writers that died can be reaped by the next writer on the same host.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** `<pid>-<writer>-<host>`: a writer's temporary directory, reapable once the process is gone. */
export function tmpDirName(writerId: string): string {
  return `${process.pid}-${writerId}-${hostname().replace(/[^A-Za-z0-9.]/g, "_")}`;
}

/**
 * Removes temporary dirs of writer processes of this host that no longer run (a lake on a shared
 * disk may hold other hosts' dirs: those are left to their own writers).
 */
export function removeDeadTmpDirs(root: string): void {
  if (!existsSync(root)) return;
  const host = hostname().replace(/[^A-Za-z0-9.]/g, "_");
  for (const name of readdirSync(root)) {
    const [pidText, writer, ...rest] = name.split("-");
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0 || writer === undefined) continue;
    if (rest.length > 0 && rest.join("-") !== host) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(root, name), { recursive: true, force: true });
  }
}
