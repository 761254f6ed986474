/**
 * The kernel's benchmark, as a Jupyter client sees it (Debian's jupyter_client): start (process
 * launch to a kernel_info reply with iopub connected) and a trivial cell's round trip on a warm kernel.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driveKernel, type KernelStep } from "../testing/jupyter.ts";
import { installKernelSpec, KERNEL_NAME } from "./kernelspec.ts";

export interface KernelBench {
  readonly start_s: number;
  readonly first_cell_ms: number;
  /** Median of the warm runs of `1 + 1`. */
  readonly trivial_cell_ms: number;
  readonly trivial_cell_p90_ms: number;
}

export async function runKernelBench(cells = 30): Promise<KernelBench> {
  const root = mkdtempSync(join(tmpdir(), "tributary-kernel-bench-"));
  try {
    installKernelSpec({ kind: "prefix", prefix: join(root, "prefix") });
    const steps: KernelStep[] = [
      { op: "start" },
      ...Array.from({ length: cells + 1 }, () => ({ op: "execute" as const, code: "1 + 1" })),
      { op: "shutdown" },
    ];
    const results = await driveKernel(KERNEL_NAME, steps, {
      jupyterPath: join(root, "prefix", "share", "jupyter"),
      cwd: root,
    });
    const ms = results.filter((r) => r.op === "execute").map((r) => Number(r.ms));
    const warm = ms.slice(1).sort((a, b) => a - b);
    const at = (q: number): number =>
      warm[Math.min(warm.length - 1, Math.floor(q * warm.length))] ?? Number.NaN;
    return {
      start_s: Number(results[0]?.seconds),
      first_cell_ms: ms[0] ?? Number.NaN,
      trivial_cell_ms: at(0.5),
      trivial_cell_p90_ms: at(0.9),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
