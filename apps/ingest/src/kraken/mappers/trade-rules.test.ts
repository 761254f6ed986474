/**
 * The trade contract's value rules as the ingester applies them (the WS fast path, the general path,
 * REST rows): every case of the shared table gets the verdict silver gives (apps/lake's silver tests
 * run the same table), and a rejection names the rule.
 */
import { describe, expect, test } from "bun:test";
import { TRADE_RULE_CASES } from "@tributary/shared/contracts/trade-rule-cases";
import { TRADE_RULE } from "@tributary/shared/contracts/trade-rules";
import { type LosslessObject, parseLossless } from "../lossless-json.ts";
import { PairRegistry } from "../pairs.ts";
import { BTC_USD } from "../test-pairs.ts";
import { mapRestTrades } from "./rest-trades.ts";
import { classifyWsFrame } from "./ws-frame.ts";
import { mapWsTrades } from "./ws-trade.ts";
import { fastWsTrades } from "./ws-trade-fast.ts";

const registry = new PairRegistry([BTC_USD]);
const AT = "2026-01-01T00:00:00.000000Z";

/** What the stream does with a frame: the fast path, else classification and the general mapper. */
function ingest(frame: string): { accepted: number; reasons: string[] } {
  const fast = fastWsTrades(frame, registry, AT);
  if (fast) return { accepted: fast.length, reasons: [] };
  try {
    const f = classifyWsFrame(frame);
    if (f.kind !== "data") throw new Error(`not a data frame: ${f.kind}`);
    const mapped = mapWsTrades(f.data, registry, AT);
    return { accepted: mapped.records.length, reasons: mapped.rejections.map((r) => r.reason) };
  } catch (err) {
    return { accepted: 0, reasons: [(err as Error).message] };
  }
}

describe("WS v2 trade frames", () => {
  for (const c of TRADE_RULE_CASES) {
    test(`${c.name}: ${c.rule ? `rejected (${c.rule})` : "accepted"}`, () => {
      const got = ingest(`{"channel":"trade","type":"update","data":[${c.wsItem}]}`);
      if (c.rule === undefined) expect(got).toEqual({ accepted: 1, reasons: [] });
      else {
        expect(got.accepted).toBe(0);
        expect(got.reasons).toHaveLength(1);
        expect(got.reasons[0]).toContain(c.rule);
      }
    });
  }
});

describe("REST Trades rows", () => {
  const row = (price: string, time: string, id: string) =>
    `["${price}","0.01044926",${time},"b","l","",${id}]`;
  const page = (r: string) =>
    mapRestTrades(
      parseLossless(`{"XXBTZUSD":[${r}],"last":"1"}`) as LosslessObject,
      "XXBTZUSD",
      registry,
      AT,
    );
  const cases: [string, string, string | undefined][] = [
    ["a valid row", row("68500.00000", "1716813791.798009", "70635299"), undefined],
    ["price 0", row("0.00000", "1716813791.798009", "70635299"), TRADE_RULE.pricePositive],
    ["trade_id 2^53+1", row("68500.00000", "1716813791.798009", "9007199254740993"), TRADE_RULE.tradeIdRange],
    ["time in 2300", row("68500.00000", "10413792000.0", "70635299"), TRADE_RULE.tsPlausible],
    ["time 0 (1970)", row("68500.00000", "0.5", "70635299"), TRADE_RULE.tsPlausible],
  ];
  for (const [name, r, rule] of cases) {
    test(`${name}: ${rule ? `rejected (${rule})` : "accepted"}`, () => {
      const p = page(r);
      expect(p.trades.length).toBe(rule ? 0 : 1);
      if (rule) expect(p.rejections[0]?.reason).toContain(rule);
    });
  }
});
