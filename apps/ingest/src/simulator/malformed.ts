/**
 * Malformed input the simulator can inject. Each item is unreadable as a whole (one frame or one body
 * is one dead-letter record), and none of them carries a valid trade, so ground truth is unchanged.
 */
import type { Rng } from "./rng.ts";

const TS = "2024-05-27T12:43:11.798009Z";

function trade(symbol: string, fields: Record<string, string>): string {
  const base: Record<string, string> = {
    symbol: JSON.stringify(symbol),
    side: '"buy"',
    price: "68500.0",
    qty: "0.01044926",
    ord_type: '"limit"',
    trade_id: "70635299",
    timestamp: JSON.stringify(TS),
    ...fields,
  };
  const members = Object.entries(base)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `"${k}":${v}`);
  return `{"channel":"trade","type":"update","data":[{${members.join(",")}}]}`;
}

/** Malformed WebSocket frames for a subscribed symbol. */
export function malformedWsFrame(rng: Rng, symbol: string): string {
  const makers: (() => string)[] = [
    () => `not json {{{ ${rng.int(0, 1e9)}`,
    () => {
      const full = trade(symbol, {});
      return full.slice(0, rng.int(1, full.length - 1));
    },
    () => trade(symbol, { price: '"68500.0"' }),
    () => trade(symbol, { price: "68500.123456789" }),
    () => trade(symbol, { qty: "-0.5" }),
    () => trade(symbol, { trade_id: "" }),
    () => trade(symbol, { trade_id: "1.5" }),
    () => trade(symbol, { trade_id: "1e30" }),
    () => trade(symbol, { side: '"long"' }),
    () => trade(symbol, { ord_type: '"stop"' }),
    () => trade(symbol, { timestamp: '"2024-13-45T99:00:00Z"' }),
    () => trade(symbol, { timestamp: "1716813791.798" }),
    () => trade("FOO/BAR", {}),
    () => `{"channel":"trade","type":"update","data":{}}`,
    () => `{"channel":"trade","type":"delta","data":[]}`,
    () => `{"channel":"trades_v3","type":"update","data":[]}`,
    () => `[993,[["354.11000000","0.89594024","1618678142.557535","s","l",""]],"trade","XMR/USD"]`,
    () => `{"channel":"ticker","type":"update","data":[{"symbol":${JSON.stringify(symbol)},"bid":1.0}]}`,
    () => `{"method":"subscribe"}`,
    () => String(rng.int(0, 1000)),
    () => "null",
    () => "",
  ];
  return rng.pick(makers)();
}

/** Malformed HTTP 200 bodies for a Trades request for `pairId`. */
export function malformedTradesBody(rng: Rng, pairId: string, validBody: string): string {
  const makers: (() => string)[] = [
    () => "<html><body>upstream returned garbage</body></html>",
    () => validBody.slice(0, rng.int(1, Math.max(1, validBody.length - 1))),
    () => `{"error":[],"result":"oops"}`,
    () => `{"result":{}}`,
    () => `{"error":"EGeneral:Internal error"}`,
    () => `{"error":[],"result":{"${pairId}":"x","last":"1"}}`,
    () => `{"error":[],"result":{"${pairId}":[],"BOGUS":[],"last":"1"}}`,
    () => `{"error":[],"result":{"${pairId}":[],"last":1.5}}`,
    () => "",
  ];
  return rng.pick(makers)();
}
