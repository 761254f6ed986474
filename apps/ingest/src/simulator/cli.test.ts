/** `bun run simulator` as a process: a missing fixture directory is one line; a market can start in the past at a speed. */
import { expect, test } from "bun:test";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../../../..");

function simulator(args: string[]) {
  return Bun.spawn([process.execPath, join(REPO, "apps/ingest/src/simulator/cli.ts"), ...args], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "pipe",
  });
}

test("--fixtures <missing> prints one line naming the directory and what is missing, exit 2", async () => {
  const child = simulator(["--fixtures", "/nonexistent/kraken", "--port", "0"]);
  expect(await child.exited).toBe(2);
  const stderr = (await new Response(child.stderr).text()).trim();
  expect(stderr.split("\n")).toHaveLength(1);
  expect(stderr).toContain("--fixtures /nonexistent/kraken");
  expect(stderr).toContain("rest_assetpairs.jsonl not found");
});

test("--start=-48h --speed 7200: Kraken's clock starts two days back and runs two hours per second", async () => {
  // Bounds from the wall clock around each request, so a slow machine cannot fail it: market time at
  // wall time t is (opening − 48 h) + (t − opening) × 7200, opening between spawn and the first answer.
  const SPEED = 7200;
  const spawnedS = Date.now() / 1000;
  const child = simulator(["--port", "0", "--start=-48h", "--speed", String(SPEED), "--rate", "0.5"]);
  try {
    const reader = child.stderr.getReader();
    let text = "";
    let rest = "";
    while (!rest) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`simulator ended: ${text}`);
      text += new TextDecoder().decode(value);
      rest = /"rest":"(http:[^"]+)"/.exec(text)?.[1] ?? "";
    }
    reader.releaseLock();
    const time = async () => {
      const sentS = Date.now() / 1000;
      const body = (await (await fetch(`${rest}/public/Time`)).json()) as { result: { unixtime: number } };
      return { sentS, doneS: Date.now() / 1000, unixtime: body.result.unixtime };
    };
    const first = await time();
    expect(first.unixtime).toBeGreaterThanOrEqual(Math.floor(spawnedS - 48 * 3600) - 1);
    expect(first.unixtime).toBeLessThanOrEqual(spawnedS - 48 * 3600 + (first.doneS - spawnedS) * SPEED + 1);
    await Bun.sleep(1000);
    const second = await time();
    const ran = second.unixtime - first.unixtime;
    expect(ran).toBeGreaterThanOrEqual((second.sentS - first.doneS) * SPEED - 2);
    expect(ran).toBeLessThanOrEqual((second.doneS - first.sentS) * SPEED + 2);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
});
