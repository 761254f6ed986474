/**
 * The ingester's /health measures progress, end to end: with the Kraken simulator trading and a private
 * broker (never the shared one) killed, records wait for Kafka with no acknowledgement, so /health turns
 * 503 within the stall limit (plus a stated allowance), naming the stalled Kafka acknowledgement; once
 * the broker is back it is 200 again, and Kafka holds every trade_id the simulator emitted.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { healthBecomes, readHealth } from "@tributary/shared/testing/health";
import { uniqueName } from "@tributary/shared/testing/names";
import { type PrivateStack, startPrivateStack } from "@tributary/stack/testing/private-stack";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { compareWithTruth, describeComparison } from "../../simulator/truth-check.ts";
import { startIngester } from "./ingester.ts";
import { simulatorOptions } from "./testing.ts";

const STALL_MS = 3_000;
/** Past the stall limit: /health is polled every POLL_MS, and one answer may queue behind the event loop. */
const ALLOWANCE_MS = 1_500;
const POLL_MS = 100;
let stack: PrivateStack;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-ingest-health-"));
  stack = await startPrivateStack(["kafka"]);
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test("a private broker killed while Kraken trades: /health 503 within the stall limit naming the Kafka acknowledgement, 200 once it is back, no trade lost", async () => {
  // No giant sweeps: every trade_id is reachable by REST, so any id missing from Kafka is a loss.
  const sim = await KrakenSimulator.start({
    seed: 16,
    tradesPerSecond: 200,
    heartbeatMs: 200,
    autoStart: false,
    sweeps: { giantProbability: 0 },
  });
  const topics = { trades: uniqueName("health_trades"), ticker: uniqueName("health_ticker") };
  let acked = 0;
  let lastAckMs = 0;
  const lastAcked = new Map<string, number>();
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const ingester = await startIngester(
    simulatorOptions(sim, stack.config, topics, stateDir, {
      metricsPort: port,
      stallAfterMs: STALL_MS,
      ws: { backoff: { initialMs: 50, maxMs: 500 } },
    }),
    {
      log: createLogger("ingest-health", "error"),
      onTradesAcked: (trades, ackedAtMs) => {
        acked += trades.length;
        lastAckMs = ackedAtMs;
        for (const t of trades) lastAcked.set(t.message.symbol, t.message.trade_id);
      },
    },
  );
  try {
    expect(ingester.metricsPort).toBe(port);
    sim.startMarket();
    await waitFor("500 acknowledged trades", () => acked >= 500, 30_000);
    const up = await readHealth(url);
    expect(up?.status).toBe(200);
    expect(up?.body.checks.acks?.ok).toBe(true);

    const pid = stack.pid("kafka");
    expect(pid).toBeNumber();
    const tradesAtKill = sim.snapshotStats().totalTrades;
    const killedAt = Date.now();
    process.kill(pid as number, "SIGKILL");
    const down = await healthBecomes(url, 503, STALL_MS + 10_000, POLL_MS);
    const sinceKill = down.atMs - killedAt;
    console.log(
      `broker killed: /health ${down.status} after ${sinceKill} ms (${Math.round(down.atMs - lastAckMs)} ms after the last ack; limit ${STALL_MS} ms + ${ALLOWANCE_MS} ms allowance): ${JSON.stringify(down.body.checks)}`,
    );
    expect(down.status).toBe(503);
    // The simulator kept trading: the work waiting is real, not an idle source.
    expect(sim.snapshotStats().totalTrades).toBeGreaterThan(tradesAtKill);
    // Unhealthy because no acknowledgement came for longer than the limit, and not before (50 ms: the
    // hook's ack time is read from the performance clock just before the stall watch reads Date.now).
    expect(down.atMs - lastAckMs).toBeGreaterThan(STALL_MS - 50);
    expect(sinceKill).toBeLessThanOrEqual(STALL_MS + ALLOWANCE_MS);
    expect(down.body.checks.acks?.ok).toBe(false);
    expect(down.body.checks.acks?.detail).toMatch(
      /^stalled: \d+ records wait for Kafka and no Kafka acknowledgement for \d+ s \(limit 3 s\)$/,
    );
    // The stall watch is what turned it: the other checks are still within their own limits.
    expect(
      Object.entries(down.body.checks)
        .filter(([, c]) => !c.ok)
        .map(([name]) => name),
    ).toEqual(["acks"]);

    const restartAt = Date.now();
    const statuses = await stack.up();
    expect(statuses.map((s) => s.state)).toEqual(["up"]);
    const brokerBackAt = Date.now();
    const recovered = await healthBecomes(url, 200, 45_000, POLL_MS);
    console.log(
      `broker back after ${brokerBackAt - restartAt} ms: /health ${recovered.status} after ${recovered.atMs - brokerBackAt} ms: ${JSON.stringify(recovered.body.checks)}`,
    );
    expect(recovered.status).toBe(200);
    expect(recovered.body.checks.acks?.ok).toBe(true);
    expect(acked).toBeGreaterThan(0);

    sim.pauseMarket();
    const truth = new Map(sim.symbols().map((s) => [s, sim.truth(s)]));
    await waitFor(
      "every emitted trade acknowledged",
      () => [...truth].every(([s, t]) => (lastAcked.get(s) ?? 0) >= (t.at(-1)?.trade_id ?? 0)),
      30_000,
    );
    await ingester.stop();
    const records = await readTopic(
      createKafka(stack.config.kafka, "health-check"),
      topics.trades,
      uniqueName("health_reader"),
    );
    const delivered = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
    const comparison = compareWithTruth(delivered, truth);
    console.log(
      `after the outage: ${JSON.stringify({ trades: comparison.totalTruth, emitted_since_kill: comparison.totalTruth - tradesAtKill, kafka_records: delivered.length, duplicates: comparison.totalDuplicates, missing: comparison.totalMissing })}`,
    );
    if (!comparison.ok) throw new Error(describeComparison(comparison));
    expect(comparison.totalMissing).toBe(0);
    expect(await ingester.metrics.registry.value("tributary_ingest_unrecoverable_missing_trades_total")).toBe(
      0,
    );
  } finally {
    await ingester.stop();
    await sim.stop();
  }
}, 120_000);
