/** The WS v2 connection against the simulator: subscribes, detects silence, reconnects with backoff. */
import { afterEach, expect, test } from "bun:test";
import { KrakenSimulator } from "../../simulator/server.ts";
import { krakenWsEvents, type WsEvent } from "./client.ts";

let sim: KrakenSimulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function collect(
  it: AsyncIterableIterator<WsEvent>,
  until: (events: WsEvent[]) => boolean,
  timeoutMs: number,
): Promise<WsEvent[]> {
  const events: WsEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const ev of it) {
    events.push(ev);
    if (until(events)) break;
    if (Date.now() > deadline) throw new Error(`timeout after ${events.length} events`);
  }
  return events;
}

const subscribe = [{ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] }, req_id: 1 }];

test("subscribes on connect and yields the frames, then reconnects and resubscribes after a drop", async () => {
  sim = await KrakenSimulator.start({ tradesPerSecond: 200, heartbeatMs: 50 });
  const it = krakenWsEvents({
    url: sim.wsUrl,
    subscriptions: subscribe,
    staleMs: 1000,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  const s = sim;
  let dropped = false;
  const events = await collect(
    it,
    (evs) => {
      const acks = evs.filter((e) => e.kind === "frame" && e.text.includes('"success":true'));
      if (acks.length === 1 && !dropped) {
        dropped = true;
        s.dropConnections();
      }
      return acks.length >= 2;
    },
    5_000,
  );
  await it.return?.(undefined);
  const kinds = events.map((e) => e.kind);
  expect(kinds[0]).toBe("open");
  expect(kinds.filter((k) => k === "open")).toHaveLength(2);
  expect(kinds).toContain("closed");
  const closed = events.find((e) => e.kind === "closed");
  expect(closed?.kind === "closed" && closed.retryInMs).toBeLessThanOrEqual(100);
});

test("a connection that goes silent is declared dead after staleMs and replaced", async () => {
  sim = await KrakenSimulator.start({ tradesPerSecond: 50, heartbeatMs: 50 });
  const it = krakenWsEvents({
    url: sim.wsUrl,
    subscriptions: subscribe,
    staleMs: 300,
    pingAfterMs: 10_000,
    backoff: { initialMs: 20, maxMs: 50 },
  });
  const s = sim;
  let stalled = false;
  const started = Date.now();
  const events = await collect(
    it,
    (evs) => {
      if (!stalled && evs.some((e) => e.kind === "frame" && e.text.includes('"success":true'))) {
        stalled = true;
        s.stallConnections(60_000);
      }
      return evs.filter((e) => e.kind === "open").length >= 2;
    },
    5_000,
  );
  await it.return?.(undefined);
  const closed = events.find((e) => e.kind === "closed");
  expect(closed?.kind === "closed" && closed.reason).toMatch(/^silent for \d+ ms$/);
  expect(Date.now() - started).toBeLessThan(3_000);
});

test("reconnect delays back off exponentially while the server is unreachable", async () => {
  sim = await KrakenSimulator.start({ autoStart: false });
  const url = sim.wsUrl;
  await sim.stop();
  sim = undefined;
  const it = krakenWsEvents({
    url,
    subscriptions: subscribe,
    staleMs: 1000,
    backoff: { initialMs: 10, maxMs: 80, random: () => 0.999 },
  });
  const events = await collect(it, (evs) => evs.filter((e) => e.kind === "closed").length >= 5, 5_000);
  await it.return?.(undefined);
  const delays = events.flatMap((e) => (e.kind === "closed" ? [e.retryInMs] : []));
  expect(delays).toEqual([10, 20, 40, 80, 80]);
});
