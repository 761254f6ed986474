/**
 * `bun run notebooks kernel install [--user | --prefix <dir>]`: puts the Tributary kernelspec
 * where Jupyter finds it (default `--user`). Running it again changes nothing.
 */
import { type InstallTarget, installKernelSpec, KERNEL_DISPLAY_NAME, KERNEL_NAME } from "./kernelspec.ts";

export const KERNEL_USAGE = `usage: bun run notebooks kernel install [--user | --prefix <dir>]

Installs the "${KERNEL_DISPLAY_NAME}" Jupyter kernel (kernelspec ${KERNEL_NAME}).
  --user           into ~/.local/share/jupyter/kernels (default)
  --prefix <dir>   into <dir>/share/jupyter/kernels (a virtualenv, /usr/local, …)`;

export function kernelCli(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  if (command === "-h" || command === "--help") {
    console.log(KERNEL_USAGE);
    return 0;
  }
  if (command !== "install") {
    console.error(
      `${command === undefined ? "missing command" : `unknown command ${command}`}\n\n${KERNEL_USAGE}`,
    );
    return 2;
  }
  let target: InstallTarget = { kind: "user" };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--user") target = { kind: "user" };
    else if (arg === "--prefix" || arg?.startsWith("--prefix=")) {
      const dir = arg.includes("=") ? arg.slice("--prefix=".length) : rest[++i];
      if (!dir) {
        console.error(`--prefix needs a directory\n\n${KERNEL_USAGE}`);
        return 2;
      }
      target = { kind: "prefix", prefix: dir };
    } else {
      console.error(`unknown option ${arg}\n\n${KERNEL_USAGE}`);
      return 2;
    }
  }
  const result = installKernelSpec(target);
  console.log(`${result.changed ? "installed" : "already installed"}: ${KERNEL_NAME} in ${result.dir}`);
  return 0;
}
