/**
 * The private stack is safe to crash: it runs on its own ports and state dir, the shared stack's
 * processes are untouched, and nothing outlives a test process that dies without cleaning up.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { alive } from "../proc.ts";
import { postmasterPid } from "../services/postgres.ts";
import { startPrivateStack } from "./private-stack.ts";

const shared = loadConfig();

test("a private PostgreSQL runs on its own port and state dir with wal_level=logical, and close() removes both", async () => {
  const sharedPid = postmasterPid(join(shared.stateDir, "postgres", "data"));
  const stack = await startPrivateStack(["postgres"]);
  const pid = stack.pid("postgres");
  try {
    expect(stack.config.stack.postgresPort).not.toBe(shared.stack.postgresPort);
    expect(stack.config.postgres.url).toContain(`:${stack.config.stack.postgresPort}/`);
    expect(stack.stateDir.startsWith(shared.stateDir)).toBe(false);
    const [status] = await stack.status();
    expect(status?.state).toBe("up");
    expect(pid).not.toBe(sharedPid);
  } finally {
    await stack.close();
  }
  expect(alive(pid as number)).toBe(false);
  expect(existsSync(stack.stateDir)).toBe(false);
  expect(postmasterPid(join(shared.stateDir, "postgres", "data"))).toBe(sharedPid);
}, 60_000);

test("when the owning process is killed with SIGKILL, the watchdog stops the private PostgreSQL and deletes its state", async () => {
  const child = Bun.spawn(
    [
      "bun",
      "--eval",
      `const { startPrivateStack } = await import(${JSON.stringify(join(import.meta.dir, "private-stack.ts"))});
       const s = await startPrivateStack(["postgres"]);
       console.log(JSON.stringify({ dir: s.stateDir, pid: s.pid("postgres") }));
       await Bun.sleep(600_000);`,
    ],
    { stdout: "pipe", stderr: "inherit", env: process.env },
  );
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the child exited before starting its stack: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const { dir, pid } = JSON.parse(text) as { dir: string; pid: number };
  expect(alive(pid)).toBe(true);
  child.kill("SIGKILL");
  await child.exited;
  const deadline = Date.now() + 30_000;
  while ((alive(pid) || existsSync(dir)) && Date.now() < deadline) await Bun.sleep(250);
  expect(alive(pid)).toBe(false);
  expect(existsSync(dir)).toBe(false);
}, 90_000);
