/**
 * Gap-free sequencing against the simulator's REST Trades (true ns instants, float times, sweeps cut by
 * page boundaries), with an in-memory sink. Small pages make sweeps larger than a page common, so the
 * ids REST cannot reach are checked against an independent count of them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createLogger } from "@tributary/shared/log";
import { DEFAULT_SYMBOLS } from "../../simulator/market.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { resumeSince, type SequencedTrade } from "../mappers/trade.ts";
import { PairRegistry } from "../pairs.ts";
import { KrakenRestClient } from "../rest/client.ts";
import { restTimeToken } from "../rest-time.ts";
import { type SequencerSink, TradeSequencer } from "./sequencer.ts";

let sim: KrakenSimulator;
/** A BTC-only market whose tape ends with a sweep: nothing after its fills can show a hole. */
let quiet: KrakenSimulator;
let rest: KrakenRestClient;
let registry: PairRegistry;
let tape: SequencedTrade[];
/** The truth's instant of each trade_id. */
let instants: Map<number, bigint>;
const SYMBOL = "BTC/USD";
/** Every `since` asked of REST Trades, in order. */
const requested: (string | undefined)[] = [];

beforeAll(async () => {
  sim = await KrakenSimulator.start({
    seed: 21,
    tradesPerSecond: 2_000,
    totalTrades: 3_000,
    maxTradesPerTick: 100_000,
    sweeps: { probability: 0.3, maxFills: 60 },
  });
  quiet = await KrakenSimulator.start({
    seed: 3,
    symbols: DEFAULT_SYMBOLS.filter((s) => s.symbol === SYMBOL),
    tradesPerSecond: 2_000,
    totalTrades: 300,
    maxTradesPerTick: 100_000,
    sweeps: { probability: 1, maxFills: 12 },
  });
  await Promise.all([sim.whenFinished(), quiet.whenFinished()]);
  rest = new KrakenRestClient({ baseUrl: sim.restUrl, backoff: { initialMs: 5, maxMs: 20 } });
  const trades = rest.trades.bind(rest);
  rest.trades = (pair, reg, since, count) => {
    requested.push(since);
    return trades(pair, reg, since, count);
  };
  instants = new Map(sim.truth(SYMBOL).map((t) => [t.trade_id, BigInt(t.time_ns)]));
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
afterAll(async () => {
  await sim.stop();
  await quiet.stop();
});

/** Independent count: a fill is out of REST's reach when more than `pageSize` fills share its instant before it. */
function unreachable(pageSize: number): number[] {
  const out: number[] = [];
  let run = 0;
  let prev: bigint | undefined;
  for (const t of sim.truth(SYMBOL)) {
    const ns = BigInt(t.time_ns);
    run = ns === prev ? run + 1 : 1;
    prev = ns;
    if (run > pageSize) out.push(t.trade_id);
  }
  return out;
}

function recorder() {
  const emitted: { id: number; via: string }[] = [];
  const holes: [number, number, string][] = [];
  let duplicates = 0;
  const sink: SequencerSink = {
    emit: async (trades, via) => {
      for (const t of trades) emitted.push({ id: t.message.trade_id, via });
    },
    rejectPage: async () => {},
    unrecoverable: (_s, from, to, reason) => holes.push([from, to, reason]),
    duplicate: () => duplicates++,
  };
  return { sink, emitted, holes, dups: () => duplicates };
}

function sequencer(sink: SequencerSink, pageSize = 1000, client = rest) {
  return new TradeSequencer({
    rest: client,
    registry,
    sink,
    log: createLogger("test", "error"),
    signal: new AbortController().signal,
    pageSize,
    lagRetries: 2,
    lagDelayMs: 10,
  });
}

test("the tape has sweeps at one instant, and REST's float times land above and below the truth", () => {
  expect(tape.length).toBe(sim.truthIds(SYMBOL).length);
  const truth = sim.truth(SYMBOL);
  expect(truth.some((t, i) => i > 0 && t.time_ns === truth[i - 1]?.time_ns)).toBe(true);
  const above = truth.filter((t) => {
    const token = restTimeToken(BigInt(t.time_ns));
    const [whole, frac = ""] = token.split(".");
    return BigInt(`${whole}${frac.padEnd(9, "0")}`) > BigInt(t.time_ns);
  });
  expect(above.length).toBeGreaterThan(truth.length / 10);
  expect(above.length).toBeLessThan(truth.length * 0.9);
  // Every REST trade's lower bound is below its true instant; the final one of a page is exact.
  for (const t of tape) expect(t.timeNs <= (instants.get(t.message.trade_id) ?? 0n)).toBe(true);
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

test("paging from just below Kraken's last reaches every fill of sweeps cut by page boundaries, and asks no page twice", async () => {
  const r = recorder();
  const seq = sequencer(r.sink, 50);
  seq.start(SYMBOL, undefined, "0");
  requested.length = 0;
  await seq.backfill(SYMBOL);
  expect(unreachable(50)).toEqual([]);
  expect(r.emitted.map((e) => e.id)).toEqual(tape.map((t) => t.message.trade_id));
  expect(r.holes).toEqual([]);
  expect(new Set(requested).size).toBe(requested.length);
  // Pages overlap only by the fills at the previous page's final instant: no extra page per cut sweep.
  expect(requested.length).toBeLessThan((tape.length / 50) * 1.2 + 2);
});

test("a restart from a cursor catches up over many small pages despite equal timestamps", async () => {
  const r = recorder();
  const seq = sequencer(r.sink, 80);
  const at = tape[99];
  if (!at) throw new Error("short tape");
  seq.start(
    SYMBOL,
    { symbol: SYMBOL, lastTradeId: at.message.trade_id, since: resumeSince(at), updatedAt: "" },
    "now",
  );
  await seq.backfill(SYMBOL);
  expect(unreachable(80)).toEqual([]);
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

test("a live trade REST already holds ends the catch-up at that page: nothing below it to wait for", async () => {
  // `--since 0` on a fresh market: the first live trade is the pair's first trade. Paging on to REST's
  // head and re-asking there (as if REST lagged) would stall the live stream for seconds per symbol.
  const r = recorder();
  const seq = sequencer(r.sink);
  seq.start(SYMBOL, undefined, "0");
  requested.length = 0;
  await seq.onLiveTrades(SYMBOL, tape.slice(0, 3));
  expect(requested).toEqual(["0"]);
  expect(r.emitted.map((e) => e.id)).toEqual(tape.slice(0, 3).map((t) => t.message.trade_id));
  expect(r.holes).toEqual([]);
});

test("fills beyond a page at one instant are reported as exactly those ids, and paging moves on (no loop)", async () => {
  const r = recorder();
  const pageSize = 5;
  const seq = sequencer(r.sink, pageSize);
  seq.start(SYMBOL, undefined, "0");
  requested.length = 0;
  const started = performance.now();
  await seq.backfill(SYMBOL);
  const expected = unreachable(pageSize);
  expect(expected.length).toBeGreaterThan(20);
  const reported = r.holes.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
  expect(reported).toEqual(expected);
  expect(new Set(r.holes.map((h) => h[2]))).toEqual(new Set(["rest_unreachable"]));
  const skipped = new Set(expected);
  expect(r.emitted.map((e) => e.id)).toEqual(
    tape.map((t) => t.message.trade_id).filter((id) => !skipped.has(id)),
  );
  expect(new Set(requested).size).toBe(requested.length);
  expect(performance.now() - started).toBeLessThan(30_000);
});

test("a cursor at Kraken's last itself (as earlier versions saved it) inside a sweep resumes with the sweep's remaining fills", async () => {
  const truth = sim.truth(SYMBOL);
  const i = truth.findIndex(
    (t, k) => k > 0 && t.time_ns === truth[k - 1]?.time_ns && truth[k + 1]?.time_ns === t.time_ns,
  );
  const at = truth[i] as (typeof truth)[number];
  const r = recorder();
  const seq = sequencer(r.sink, 1000);
  // Kraken's last of a page that ended on this fill is its exact instant; since is exclusive, so only the
  // hole before the next trade shows the fills skipped, and one page from just below fetches them.
  seq.start(SYMBOL, { symbol: SYMBOL, lastTradeId: at.trade_id, since: at.time_ns, updatedAt: "" }, "now");
  await seq.backfill(SYMBOL);
  expect(r.emitted.map((e) => e.id)).toEqual(truth.slice(i + 1).map((t) => t.trade_id));
  expect(r.holes).toEqual([]);
});

/** The quiet market's REST client and the index of the first fill of its final sweep (≥ 3 fills). */
function quietMarket() {
  const client = new KrakenRestClient({ baseUrl: quiet.restUrl, backoff: { initialMs: 5, maxMs: 20 } });
  const truth = quiet.truth(SYMBOL);
  const finalNs = truth.at(-1)?.time_ns;
  const first = truth.findIndex((t) => t.time_ns === finalNs);
  expect(truth.length - first).toBeGreaterThanOrEqual(3);
  return { client, truth, first };
}

test("a full page ending inside the tape's final sweep: the sweep's remaining fills come too, with no later trade to show the hole", async () => {
  const { client, truth, first } = quietMarket();
  const r = recorder();
  // Pages from since=0 of first+1 rows: the first one ends on the final sweep's first fill (Kraken's
  // `last` is that fill's instant), the rest of the sweep shares it, and nothing ever comes after.
  const seq = sequencer(r.sink, first + 1, client);
  seq.start(SYMBOL, undefined, "0");
  await seq.backfill(SYMBOL, undefined, "poll", true);
  expect(r.emitted.map((e) => e.id)).toEqual(truth.map((t) => t.trade_id));
  expect(r.holes).toEqual([]);
});

test("a cursor saved on a page's final trade inside a sweep resumes with the sweep's remaining fills, with no later trade", async () => {
  const { client, truth, first } = quietMarket();
  const pair = registry.bySymbolName(SYMBOL);
  if (!pair) throw new Error("no pair");
  // The page the cursor came from: it ended on the final sweep's first fill, so that fill carries `last`.
  const page = await client.trades(pair, registry, "0", first + 1);
  const at = page.trades.at(-1);
  if (!at?.last) throw new Error("the page's final trade carries no last");
  expect(at.message.trade_id).toBe(truth[first]?.trade_id as number);
  const r = recorder();
  const seq = sequencer(r.sink, 1000, client);
  seq.start(
    SYMBOL,
    { symbol: SYMBOL, lastTradeId: at.message.trade_id, since: resumeSince(at), updatedAt: "" },
    "now",
  );
  await seq.backfill(SYMBOL);
  expect(r.emitted.map((e) => e.id)).toEqual(truth.slice(first + 1).map((t) => t.trade_id));
  expect(r.holes).toEqual([]);
});
