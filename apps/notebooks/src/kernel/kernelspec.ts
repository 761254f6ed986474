/**
 * The Tributary kernelspec (`kernels/tributary-bun/kernel.json`) and its installation where
 * Jupyter looks for kernels: the user's data dir (`--user`, `~/.local/share/jupyter`) or a prefix
 * (`--prefix <dir>` → `<dir>/share/jupyter`, as for a virtualenv or a system install). Installing
 * again rewrites the same file: idempotent, and it reports whether anything changed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const KERNEL_NAME = "tributary-bun";
export const KERNEL_DISPLAY_NAME = "TypeScript (Tributary, Bun)";
export const KERNEL_LANGUAGE = "typescript";
const MAIN = resolve(import.meta.dir, "main.ts");

/** What the kernel reports in kernel_info and the runner writes into every `.ipynb`. */
export const LANGUAGE_INFO = {
  name: "typescript",
  version: Bun.version,
  mimetype: "text/typescript",
  file_extension: ".ts",
  pygments_lexer: "typescript",
  codemirror_mode: { name: "javascript", typescript: true },
  nbconvert_exporter: "script",
} as const;

export interface KernelSpec {
  readonly argv: readonly string[];
  readonly display_name: string;
  readonly language: string;
  readonly interrupt_mode: "message";
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The spec for this checkout: this Bun binary runs this kernel's entry with the connection file. */
export function kernelSpec(bun: string = process.execPath): KernelSpec {
  return {
    argv: [bun, MAIN, "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: KERNEL_LANGUAGE,
    // Interrupts come as control messages, which the kernel turns into SIGINT of the cell's process.
    interrupt_mode: "message",
    metadata: { tributary: { bun_version: Bun.version } },
  };
}

export type InstallTarget =
  | { readonly kind: "user"; readonly home?: string }
  | { readonly kind: "prefix"; readonly prefix: string };

/** The `kernels` directory Jupyter searches for the target. */
export function kernelsDir(target: InstallTarget): string {
  return target.kind === "user"
    ? join(target.home ?? homedir(), ".local", "share", "jupyter", "kernels")
    : join(resolve(target.prefix), "share", "jupyter", "kernels");
}

export interface InstallResult {
  readonly dir: string;
  readonly changed: boolean;
}

export function installKernelSpec(target: InstallTarget, spec: KernelSpec = kernelSpec()): InstallResult {
  const dir = join(kernelsDir(target), KERNEL_NAME);
  const path = join(dir, "kernel.json");
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  if (existsSync(path) && readFileSync(path, "utf8") === text) return { dir, changed: false };
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return { dir, changed: true };
}
