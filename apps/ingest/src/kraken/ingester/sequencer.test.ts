/** Gap-free sequencing against the simulator's REST Trades, with an in-memory sink. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createLogger } from "@tributary/shared/log";
import { KrakenSimulator } from "../../simulator/server.ts";
import type { SequencedTrade } from "../mappers/trade.ts";
import { PairRegistry } from "../pairs.ts";
import { KrakenRestClient } from "../rest/client.ts";
import { type SequencerSink, TradeSequencer } from "./sequencer.ts";

let sim: KrakenSimulator;
let rest: KrakenRestClient;
let registry: PairRegistry;
let tape: SequencedTrade[];
const SYMBOL = "BTC/USD";

beforeAll(async () => {
  sim = await KrakenSimulator.start({
    seed: 21,
    tradesPerSecond: 2_000,
    totalTrades: 1_500,
    maxTradesPerTick: 100_000,
  });
  await sim.whenFinished();
  rest = new KrakenRestClient({ baseUrl: sim.restUrl, backoff: { initialMs: 5, maxMs: 20 } });
  registry = new PairRegistry((await rest.assetPairs([SYMBOL])).records);
  const pair = registry.bySymbolName(SYMBOL);
  if (!pair) throw new Error("no pair");
  tape = [];
  let since = "0";
  for (;;) {
    const page = await rest.trades(pair, registry, since, 1000);
    tape.push(...page.trades.filter((t) => t.message.trade_id > (tape.at(-1)?.message.trade_id ?? 0)));
    if (page.rowCount < 1000 || !page.last) break;
    since = page.last;
  }
});
afterAll(() => sim.stop());

function recorder() {
  const emitted: { id: number; via: string }[] = [];
  const holes: [number, number][] = [];
  let duplicates = 0;
  const sink: SequencerSink = {
    emit: async (trades, via) => {
      for (const t of trades) emitted.push({ id: t.message.trade_id, via });
    },
    rejectPage: async () => {},
    unrecoverable: (_s, from, to) => holes.push([from, to]),
    duplicate: () => duplicates++,
  };
  return { sink, emitted, holes, dups: () => duplicates };
}

function sequencer(sink: SequencerSink, pageSize = 1000) {
  return new TradeSequencer({
    rest,
    registry,
    sink,
    log: createLogger("test", "error"),
    signal: new AbortController().signal,
    pageSize,
    lagRetries: 2,
    lagDelayMs: 10,
  });
}

test("the tape has bursts with equal timestamps (the case since-paging must survive)", () => {
  expect(tape.length).toBe(sim.truthIds(SYMBOL).length);
  expect(tape.some((t, i) => i > 0 && t.timeNs === tape[i - 1]?.timeNs)).toBe(true);
});

test("a hole in the live stream is filled from REST before the next live trade, in trade_id order", async () => {
  const r = recorder();
  const seq = sequencer(r.sink);
  const first = tape[0];
  if (!first) throw new Error("empty tape");
  seq.start(SYMBOL, undefined, "now");
  await seq.onLiveTrades(SYMBOL, tape.slice(0, 10));
  await seq.onLiveTrades(SYMBOL, tape.slice(200, 210)); // 190 trades never arrived live
  await seq.onLiveTrades(SYMBOL, tape.slice(205, 215)); // overlap: 5 duplicates
  expect(r.emitted.map((e) => e.id)).toEqual(tape.slice(0, 215).map((t) => t.message.trade_id));
  expect(r.emitted.filter((e) => e.via === "backfill")).toHaveLength(190);
  expect(r.dups()).toBe(5);
  expect(r.holes).toEqual([]);
});

test("a restart from a cursor catches up over many small pages despite equal timestamps", async () => {
  const r = recorder();
  const seq = sequencer(r.sink, 20);
  const at = tape[99];
  if (!at) throw new Error("short tape");
  seq.start(
    SYMBOL,
    { symbol: SYMBOL, lastTradeId: at.message.trade_id, sinceNs: at.timeNs.toString(), updatedAt: "" },
    "now",
  );
  await seq.backfill(SYMBOL);
  expect(r.emitted.map((e) => e.id)).toEqual(tape.slice(100).map((t) => t.message.trade_id));
  expect(r.holes).toEqual([]);
});

test("an explicit since of 0 starts from the pair's first trade", async () => {
  const r = recorder();
  const seq = sequencer(r.sink);
  seq.start(SYMBOL, undefined, "0");
  await seq.onLiveTrades(SYMBOL, tape.slice(50, 51));
  expect(r.emitted.map((e) => e.id)).toEqual(tape.slice(0, 51).map((t) => t.message.trade_id));
});

test("when a whole REST page shares one timestamp, the ids REST cannot page to are reported, not skipped silently", async () => {
  const r = recorder();
  const seq = sequencer(r.sink, 2);
  seq.start(SYMBOL, undefined, "0");
  await seq.backfill(SYMBOL);
  const emittedIds = new Set(r.emitted.map((e) => e.id));
  const lastEmitted = Math.max(...emittedIds);
  // Ids skipped inside the tape are reported as soon as a later trade shows the hole; a skip at the very
  // end of the tape is reported when the next trade arrives (there is none here).
  const missing = tape.map((t) => t.message.trade_id).filter((id) => !emittedIds.has(id) && id < lastEmitted);
  const reported = r.holes.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
  expect(missing.length).toBeGreaterThan(0);
  expect(reported).toEqual(missing);
});
