/**
 * Test helper: a detached shell that waits for `owner` (the test process) to end and then runs
 * `cleanup` (shell lines: kill what the test started, remove its directories). A test that ends
 * normally kills the watchdog itself; one killed with -9 leaves nothing running behind it.
 */
export function startWatchdog(owner: number, cleanup: readonly string[]): Bun.Subprocess {
  const script = [`while kill -0 ${owner} 2>/dev/null; do sleep 2; done`, ...cleanup].join("\n");
  const proc = Bun.spawn(["sh", "-c", script], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
    detached: true,
  });
  proc.unref();
  return proc;
}
