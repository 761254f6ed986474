/** `bun run ingest` as a process: configuration errors stop it with a clear message; health and metrics are served. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import { KrakenSimulator } from "./simulator/server.ts";

const REPO = resolve(import.meta.dir, "../../..");
const config = loadConfig();
let sim: KrakenSimulator;
let stateDir: string;

beforeAll(async () => {
  sim = await KrakenSimulator.start({ tradesPerSecond: 100, heartbeatMs: 200 });
  stateDir = mkdtempSync(join(tmpdir(), "tributary-cli-"));
});
afterAll(async () => {
  await sim.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function ingest(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn(
    [
      process.execPath,
      join(REPO, "apps/ingest/src/cli.ts"),
      "--rest-url",
      sim.restUrl,
      "--ws-url",
      sim.wsUrl,
      "--state-dir",
      stateDir,
      ...args,
    ],
    {
      cwd: REPO,
      env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(","), LOG_LEVEL: "info", ...env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
}

test("an unknown symbol is a configuration error: exit code 2 and a message naming it", async () => {
  const child = ingest(["--symbols", "BTC/USD,FOO/BAR", "--metrics-port", "off"]);
  const code = await child.exited;
  const stderr = await new Response(child.stderr).text();
  expect(code).toBe(2);
  expect(stderr).toContain("configuration error");
  expect(stderr).toContain("FOO/BAR");
  expect(stderr).toContain("EQuery:Unknown asset pair");
});

test("an unreachable Kafka stops it with a message naming KAFKA_BROKERS, its value and the cause", async () => {
  const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = closed.port;
  closed.stop(true);
  const started = Date.now();
  const child = ingest(["--symbols", "BTC/USD", "--metrics-port", "off"], {
    KAFKA_BROKERS: `127.0.0.1:${port}`,
  });
  expect(await child.exited).toBe(1);
  const line = (await new Response(child.stderr).text()).split("\n").find((l) => l.startsWith("ingest: "));
  expect(line).toContain(`cannot reach Kafka at KAFKA_BROKERS=127.0.0.1:${port}`);
  expect(line).toMatch(/ECONNREFUSED|Connection error|connect/i);
  console.log(`unreachable Kafka reported after ${Date.now() - started} ms`);
}, 90_000);

test("--ohlc fetches Kraken's committed candles into the OHLC topic once, prints the counts and exits 0", async () => {
  const fixtures = await KrakenSimulator.start({ mode: "fixtures" });
  try {
    const topic = uniqueName("cli_ohlc");
    const child = Bun.spawn(
      [
        process.execPath,
        join(REPO, "apps/ingest/src/cli.ts"),
        ...["--ohlc", "--symbols", "BTC/USDT", "--rest-url", fixtures.restUrl, "--state-dir", stateDir],
        ...["--ohlc-topic", topic],
      ],
      {
        cwd: REPO,
        env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(",") },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await child.exited).toBe(0);
    expect(JSON.parse((await new Response(child.stdout).text()).trim())).toEqual({
      candles: { "BTC/USDT": 720 },
      rejected: 0,
    });
  } finally {
    await fixtures.stop();
  }
}, 60_000);

test("a bad flag is refused in one line naming it, with exit 2", async () => {
  const child = ingest(["--mode", "batch"]);
  expect(await child.exited).toBe(2);
  expect(await new Response(child.stderr).text()).toBe(
    "ingest: --mode: expected stream or poll, got batch (bun run ingest --help shows the usage)\n",
  );
});

test("the running ingester serves /health and /metrics, and SIGTERM stops it cleanly", async () => {
  const topics = [uniqueName("cli_trades"), uniqueName("cli_ticker")];
  const child = ingest([
    "--symbols",
    "BTC/USD,ETH/USD",
    "--metrics-port",
    "0",
    "--trades-topic",
    topics[0] ?? "",
    "--ticker-topic",
    topics[1] ?? "",
  ]);
  try {
    const reader = child.stderr.getReader();
    let log = "";
    let url: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!url && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      log += new TextDecoder().decode(value);
      url = /"metrics":"(http:\/\/127\.0\.0\.1:\d+)\/metrics"/.exec(log)?.[1];
    }
    reader.releaseLock();
    if (!url) throw new Error(`no metrics URL in: ${log}`);
    let metrics = "";
    for (
      let i = 0;
      i < 100 && !metrics.includes('tributary_ingest_trades_total{symbol="BTC/USD",source="ws"');
      i++
    ) {
      await Bun.sleep(100);
      metrics = await (await fetch(`${url}/metrics`)).text();
    }
    expect(metrics).toContain('tributary_ingest_trades_total{symbol="BTC/USD",source="ws"}');
    expect(metrics).toContain("tributary_ingest_ws_connected 1");
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}, 60_000);
