/**
 * Debian's Jupyter (python3-jupyter-client, python3-nbclient, jupyter-notebook, installed by
 * `bun run setup`) as the independent counterpart of the kernel tests. Always /usr/bin/python3:
 * another python3 on PATH (pyenv) does not see Debian's packages.
 */
import { existsSync } from "node:fs";

export const DEBIAN_PYTHON = "/usr/bin/python3";
export const JUPYTER_PACKAGES = "python3-jupyter-client python3-nbclient jupyter-notebook";

/** The Python that imports jupyter_client, nbclient and zmq; throws with the install hint if none. */
export function pythonWithJupyter(): string {
  const ok =
    existsSync(DEBIAN_PYTHON) &&
    Bun.spawnSync([DEBIAN_PYTHON, "-c", "import jupyter_client, nbclient, zmq"], { stderr: "ignore" })
      .exitCode === 0;
  if (!ok) {
    throw new Error(
      `Debian's Jupyter is missing: apt-get install -y ${JUPYTER_PACKAGES} (bun run setup does it)`,
    );
  }
  return DEBIAN_PYTHON;
}

const DRIVER = `${import.meta.dir}/drive_kernel.py`;

export type KernelStep =
  | { readonly op: "start" | "restart" | "shutdown" }
  | {
      readonly op: "execute";
      readonly code: string;
      readonly interrupt_after?: number;
      readonly timeout?: number;
    }
  | { readonly op: "is_complete" | "complete" | "inspect"; readonly code: string; readonly cursor?: number };

/** One result per step, as drive_kernel.py prints them. */
export type StepResult = Record<string, unknown> & { readonly op: string };

/**
 * Runs the steps against kernelspec `kernel` found under `jupyterPath` (JUPYTER_PATH) with the
 * notebook folder `cwd`, through Debian's jupyter_client.
 */
export async function driveKernel(
  kernel: string,
  steps: readonly KernelStep[],
  options: {
    readonly jupyterPath: string;
    readonly cwd: string;
    readonly env?: Record<string, string | undefined>;
  },
): Promise<StepResult[]> {
  const { stdout, stderr, code } = await runPython([DRIVER], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, JUPYTER_PATH: options.jupyterPath },
    stdin: JSON.stringify({ kernel, steps }),
  });
  const results = stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as StepResult);
  if (code !== 0 || results.length !== steps.length) {
    throw new Error(
      `drive_kernel.py exited ${code} after ${results.length}/${steps.length} steps:\n${stderr}`,
    );
  }
  return results;
}

/** Runs Debian's Python with `args` and collects its output. */
export async function runPython(
  args: readonly string[],
  options: {
    readonly cwd?: string;
    readonly env?: Record<string, string | undefined>;
    readonly stdin?: string;
  } = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  const proc = Bun.spawn([pythonWithJupyter(), ...args], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: options.env ?? process.env,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}
