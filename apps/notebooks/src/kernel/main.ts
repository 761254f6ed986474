/**
 * Entry of the Tributary kernel, as kernel.json starts it: `bun main.ts <connection file>`.
 * Runs until a shutdown request (or SIGTERM); SIGINT interrupts the running cell, as Jupyter's
 * signal interrupt mode expects.
 */
import { ConnectionFileError, readConnection } from "./connection.ts";
import { Kernel } from "./kernel.ts";

const path = process.argv[2];
if (!path) {
  console.error("usage: bun apps/notebooks/src/kernel/main.ts <connection file>");
  process.exit(2);
}
let kernel: Kernel;
try {
  kernel = new Kernel(readConnection(path), {
    cwd: process.cwd(),
    env: process.env,
    onShutdown: () => process.exit(0),
    log: (line) => console.error(`[tributary kernel] ${line}`),
  });
  kernel.start();
} catch (err) {
  if (err instanceof ConnectionFileError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
process.on("SIGINT", () => kernel.interrupt());
const stop = (): void => {
  void kernel.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
// Jupyter names the process that started us; when it is gone, nobody can shut us down.
const parent = Number(process.env.JPY_PARENT_PID ?? "0");
if (parent > 1) setInterval(() => process.ppid !== parent && stop(), 1000).unref();
