/**
 * The pre-rendered book burst: every frame verifies against Kraken's checksum when read by the
 * ingester's general path, frames of the three symbols interleave in market time, and the simulator
 * serves the burst's snapshots on subscription and then sends every update, in order, back-to-back.
 */
import { expect, test } from "bun:test";
import { BookKeeper } from "../kraken/book/book-keeper.ts";
import { replayBookFrames } from "../kraken/book/testing.ts";
import { PairRegistry } from "../kraken/pairs.ts";
import { BTC_USD, DOGE_USD, ETH_USD } from "../kraken/test-pairs.ts";
import { BookBurst, type BookBurstOptions } from "./book-burst.ts";
import { DEFAULT_SYMBOLS } from "./market.ts";
import { KrakenSimulator } from "./server.ts";
import { WsHub } from "./ws.ts";

const registry = new PairRegistry([BTC_USD, ETH_USD, DOGE_USD]);
const BURST: BookBurstOptions = {
  updates: 3_000,
  depth: 10,
  makerEventsPerSecond: 50_000,
  tradesPerSecond: 2_000,
  sweeps: { probability: 0.29, maxFills: 12, giantProbability: 0 },
};

/** Feeds frames to a BookKeeper through the general parser; returns each message's status and symbol. */
function verify(frames: readonly string[]): { status: string; symbol: string; ts: string }[] {
  const verdicts = replayBookFrames(new BookKeeper(10, "t"), frames, registry, "2026-01-01T00:00:00.000000Z");
  return verdicts.map(({ message }) => ({
    status: message.checksum_status,
    symbol: message.symbol,
    ts: message.ts,
  }));
}

test("a rendered burst verifies frame by frame, interleaving the symbols in market time", () => {
  const burst = BookBurst.render({ ...BURST, seed: 5, symbols: DEFAULT_SYMBOLS }, 1_750_000_000_000_000_000n);
  const snapshots = burst.symbols.map((s) => burst.snapshot(s, 10) as string);
  expect(burst.symbols).toEqual(["BTC/USD", "ETH/USD", "DOGE/USD"]);
  expect(burst.snapshot("BTC/USD", 25)).toBeUndefined();
  expect(burst.frames.length).toBeGreaterThanOrEqual(BURST.updates);
  const messages = verify([...snapshots, ...burst.frames.map((f) => f.text)]);
  expect(messages.filter((m) => m.status !== "ok")).toEqual([]);
  const updates = messages.slice(snapshots.length);
  expect(updates.map((m) => m.symbol)).toEqual(burst.frames.map((f) => f.symbol));
  for (const symbol of burst.symbols) {
    const times = updates.filter((m) => m.symbol === symbol).map((m) => m.ts);
    expect(times.length).toBeGreaterThan(BURST.updates / 10);
    expect(times).toEqual(times.toSorted());
  }
  // Taker orders sweep several levels at once: some updates carry more than one level.
  expect(burst.frames.some((f) => (f.text.match(/"price"/g) ?? []).length > 2)).toBe(true);
});

test("the simulator sends the burst's snapshot on subscription, then every update in order, waiting out backpressure", async () => {
  // 40,000 frames (about 8 MB) to a client on the same thread, which cannot read while they are sent:
  // the socket pushes back, and the burst must wait for it to drain rather than drop a frame.
  const sim = await KrakenSimulator.start({
    seed: 5,
    autoStart: false,
    bookSendTimes: true,
    bookBurst: { ...BURST, updates: 40_000 },
  });
  const sendPaced = WsHub.prototype.sendPaced;
  let pushedBack = 0;
  WsHub.prototype.sendPaced = function (this: WsHub, ...args: Parameters<WsHub["sendPaced"]>) {
    const taken = sendPaced.apply(this, args);
    if (taken instanceof Promise) pushedBack++;
    return taken;
  };
  const ws = new WebSocket(sim.wsUrl);
  try {
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      ws.onopen = () => {
        const params = { channel: "book", symbol: sim.symbols(), depth: 10, snapshot: true };
        ws.send(JSON.stringify({ method: "subscribe", params }));
        resolve();
      };
    });
    ws.onmessage = (e) => {
      if (String(e.data).startsWith('{"channel":"book"')) received.push(String(e.data));
    };
    await sim.sendBookBurst(5_000);
    const sent = sim.symbols().reduce((n, s) => n + sim.bookSentAtMs(s).length, 0);
    const deadline = Date.now() + 10_000;
    while (received.length < 3 + sent && Date.now() < deadline) await Bun.sleep(10);
    expect(received.length).toBe(3 + sent);
    expect(received.slice(0, 3).every((f) => f.includes('"type":"snapshot"'))).toBe(true);
    const messages = verify(received);
    expect(messages.filter((m) => m.status !== "ok")).toEqual([]);
    expect(messages.length).toBeGreaterThanOrEqual(3 + 40_000);
    expect(pushedBack).toBeGreaterThan(0);
  } finally {
    WsHub.prototype.sendPaced = sendPaced;
    ws.close();
    await sim.stop();
  }
}, 20_000); // a rendered burst through a real socket: seconds on a loaded machine

test("a burst waits for the books to be subscribed, and says so when nobody subscribes", async () => {
  const sim = await KrakenSimulator.start({
    seed: 5,
    autoStart: false,
    bookBurst: { ...BURST, updates: 10 },
  });
  try {
    await expect(sim.sendBookBurst(50)).rejects.toThrow("not every symbol's book was subscribed");
  } finally {
    await sim.stop();
  }
});
