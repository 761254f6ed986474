/** The fast path for Kraken-layout trade frames gives exactly what the general path gives, or declines. */
import { expect, test } from "bun:test";
import { loadWsV2Fixtures } from "../../simulator/fixtures.ts";
import { wsTradeFrame } from "../../simulator/formats.ts";
import { malformedWsFrame } from "../../simulator/malformed.ts";
import { SyntheticMarket } from "../../simulator/market.ts";
import { createRng } from "../../simulator/rng.ts";
import { PairRegistry } from "../pairs.ts";
import { BTC_USD, DOGE_USD, ETH_USD } from "../test-pairs.ts";
import { classifyWsFrame } from "./ws-frame.ts";
import { mapWsTrades } from "./ws-trade.ts";
import { fastWsTrades } from "./ws-trade-fast.ts";

const registry = new PairRegistry([BTC_USD, ETH_USD, DOGE_USD]);
const AT = "2026-01-01T00:00:00.000000Z";

function general(text: string) {
  const f = classifyWsFrame(text);
  if (f.kind !== "data" || f.channel !== "trade") throw new Error("not a trade frame");
  return mapWsTrades(f.data, registry, AT);
}

test("recorded and synthetic Kraken frames take the fast path and equal the general mapping", () => {
  const market = new SyntheticMarket({
    seed: 8,
    tradesPerSecond: 1000,
    totalTrades: 2000,
    startNs: 1_700_000_000_000_000_000n,
  });
  const frames = market.advance(1_700_000_010_000_000_000n).map((e) => {
    const spec = market.specs().find((s) => s.symbol === e.symbol);
    if (!spec) throw new Error("spec");
    return wsTradeFrame("update", e.trades, spec);
  });
  frames.push(
    ...loadWsV2Fixtures()
      .filter((f) => f.id === "trade-update-kar" || f.id === "trade-snapshot-kar")
      .map((f) => f.msg),
  );
  for (const text of frames) {
    const fast = fastWsTrades(text, registry, AT);
    expect(fast).toBeDefined();
    const slow = general(text);
    expect(slow.rejections).toEqual([]);
    expect(fast).toEqual([...slow.records]);
  }
});

test("frames with any bad value or another layout decline the fast path", () => {
  const ok =
    '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":68500.0,"qty":0.01044926,"ord_type":"limit","trade_id":70635299,"timestamp":"2024-05-27T12:43:11.798009Z"}]}';
  expect(fastWsTrades(ok, registry, AT)).toHaveLength(1);
  for (const bad of [
    ok.replace("68500.0", "68500.05"),
    ok.replace("BTC/USD", "SOL/USD"),
    ok.replace("2024-05-27T12", "2024-13-27T12"),
    ok.replace('"side":"buy",', ""),
    ok.replace("{", "{ "),
    ok.replace("]}", "]} "),
    ok.replace("]}", '],"x":1}'),
    ok.replace("70635299", "99999999999999999"),
    `${ok.slice(0, -2)},{"symbol":"BTC/USD"}]}`,
  ]) {
    expect(fastWsTrades(bad, registry, AT)).toBeUndefined();
  }
  const rng = createRng(1);
  for (let i = 0; i < 500; i++)
    expect(fastWsTrades(malformedWsFrame(rng, "BTC/USD"), registry, AT)).toBeUndefined();
});
