/** The REST client against the simulator: retries what is transient, stops on configuration errors. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { KrakenSimulator } from "../../simulator/server.ts";
import { KrakenConfigError, KrakenError } from "../errors.ts";
import { PairRegistry } from "../pairs.ts";
import { KrakenRestClient } from "./client.ts";

let sim: KrakenSimulator;
beforeAll(async () => {
  sim = await KrakenSimulator.start({ seed: 4, tradesPerSecond: 500, totalTrades: 300 });
  await sim.whenFinished();
});
afterAll(() => sim.stop());

const fast = { backoff: { initialMs: 5, maxMs: 20 }, rateLimitDelayMs: 5 };

test("AssetPairs resolves WS v2 symbols to pair ids, altnames and decimals", async () => {
  const client = new KrakenRestClient({ baseUrl: sim.restUrl, ...fast });
  const { records } = await client.assetPairs(["BTC/USD", "DOGE/USD"]);
  expect(records.map((p) => [p.symbol, p.pairId, p.altname, p.priceDecimals, p.lotDecimals])).toEqual([
    ["BTC/USD", "XXBTZUSD", "XBTUSD", 1, 8],
    ["DOGE/USD", "XDGUSD", "XDGUSD", 7, 8],
  ]);
});

test("429, 5xx, rate-limit and service errors are retried until an answer arrives", async () => {
  const retries: string[] = [];
  const client = new KrakenRestClient({
    baseUrl: sim.restUrl,
    ...fast,
    maxAttempts: 200,
    onRetry: (e) => retries.push(e.kind),
  });
  const registry = new PairRegistry((await client.assetPairs(["ETH/USD"])).records);
  const pair = registry.bySymbolName("ETH/USD");
  if (!pair) throw new Error("no pair");
  sim.setFaults({ restFailureRate: 0.7 });
  try {
    for (let i = 0; i < 5; i++) {
      const page = await client.trades(pair, registry, "0", 10);
      expect(page.trades.map((t) => t.message.trade_id)).toEqual(sim.truthIds("ETH/USD").slice(0, 10));
    }
  } finally {
    sim.setFaults({ restFailureRate: 0 });
  }
  expect(new Set(retries)).toEqual(new Set(["rate_limit", "service"]));
});

test("a malformed 200 body is reported for quarantine and retried", async () => {
  const bodies: string[] = [];
  const client = new KrakenRestClient({
    baseUrl: sim.restUrl,
    ...fast,
    maxAttempts: 100,
    onInvalidBody: (_e, body) => bodies.push(body),
  });
  const registry = new PairRegistry((await client.assetPairs(["BTC/USD"])).records);
  const pair = registry.bySymbolName("BTC/USD");
  if (!pair) throw new Error("no pair");
  sim.setFaults({ malformedRestRate: 0.6, malformedLimit: 5 });
  try {
    for (let i = 0; i < 10; i++) await client.trades(pair, registry, "0", 5);
  } finally {
    sim.setFaults({ malformedRestRate: 0 });
  }
  expect(bodies).toEqual(sim.faults.malformedSent.slice(0, bodies.length));
  expect(bodies.length).toBe(sim.snapshotStats().faults.malformedRest);
});

test("EQuery:Unknown asset pair stops at once with a configuration error", async () => {
  let attempts = 0;
  const client = new KrakenRestClient({ baseUrl: sim.restUrl, ...fast, onRetry: () => attempts++ });
  const err = await client.assetPairs(["FOO/BAR"]).catch((e) => e);
  expect(err).toBeInstanceOf(KrakenConfigError);
  expect(attempts).toBe(0);
});

test("retries are bounded: the last transient error is thrown after maxAttempts", async () => {
  sim.setFaults({ restFailureRate: 1, restFailureKinds: ["http5xx"] });
  try {
    const client = new KrakenRestClient({ baseUrl: sim.restUrl, ...fast, maxAttempts: 3 });
    const err = await client.serverTime().catch((e) => e);
    expect(err).toBeInstanceOf(KrakenError);
    expect((err as KrakenError).kind).toBe("service");
    expect((err as KrakenError).message).toMatch(/HTTP 5\d\d/);
  } finally {
    sim.setFaults({
      restFailureRate: 0,
      restFailureKinds: [
        "http429",
        "http5xx",
        "rate_limit",
        "too_many_requests",
        "service_unavailable",
        "service_busy",
      ],
    });
  }
});
