/** A process's peak resident memory as the kernel recorded it (Linux `VmHWM` in /proc/<pid>/status). */
import { readFileSync } from "node:fs";

/**
 * Peak RSS in MiB of `pid` (default: this process). Off Linux, for this process only, the current RSS;
 * undefined for another process whose status cannot be read.
 */
export function peakRssMb(pid: number | "self" = "self"): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (m?.[1] !== undefined) return Number(m[1]) / 1024;
  } catch {
    // not Linux, or the process is gone
  }
  return pid === "self" ? process.memoryUsage.rss() / (1024 * 1024) : undefined;
}
