/** Edge cases of the trade mappers that the recorded fixtures do not contain. */
import { describe, expect, test } from "bun:test";
import type { LosslessObject } from "../lossless-json.ts";
import { parseLossless } from "../lossless-json.ts";
import { PairRegistry } from "../pairs.ts";
import { BTC_USD, DOGE_USD } from "../test-pairs.ts";
import { mapRestTrades } from "./rest-trades.ts";
import { classifyWsFrame } from "./ws-frame.ts";
import { mapWsTrades } from "./ws-trade.ts";

const registry = new PairRegistry([BTC_USD, DOGE_USD]);
const AT = "2026-01-01T00:00:00.000000Z";

function rest(rows: string, last = '"1"', key = "XXBTZUSD") {
  const result = parseLossless(`{"${key}":[${rows}],"last":${last}}`) as LosslessObject;
  return mapRestTrades(result, key, registry, AT);
}

describe("REST Trades rows", () => {
  test("a 7-element row maps exactly; the time token keeps its µs and the ns cursor its 100 ns", () => {
    const page = rest(
      '["105433.60000","0.00027625",1762795433.9717445,"s","m","",10218208]',
      '"1762795433971744500"',
    );
    expect(page.rejections).toEqual([]);
    expect(page.trades[0]?.message).toMatchObject({
      price: "105433.6",
      qty: "0.00027625",
      side: "sell",
      ord_type: "market",
      trade_id: 10218208,
      ts: "2025-11-10T17:23:53.971744Z",
      source: "rest",
    });
    expect(page.trades[0]?.timeNs).toBe(1762795433971744500n);
    expect(page.last).toBe("1762795433971744500");
  });

  test("times: the final row is exact from last; other rows take the µs holding most of the instants their float stands for", () => {
    const page = rest(
      '["1.00000","1.00000000",1762819943.330817,"b","m","",1],["1.00000","1.00000000",1762795433.9717445,"b","m","",2],["1.00000","1.00000000",1762820035.9822779,"s","m","",3]',
      '"1762820035982277754"',
    );
    const [a, b, c] = page.trades;
    // 1762819943.330817 stands for 1762819943330816865..330817103 ns: two µs, most of them in the earlier.
    expect(a?.message.ts).toBe("2025-11-11T00:12:23.330816Z");
    expect(a?.timeNs).toBe(1762819943330816865n);
    expect(a?.last).toBeUndefined();
    expect(b?.message.ts).toBe("2025-11-10T17:23:53.971744Z");
    expect(c?.message.ts).toBe("2025-11-11T00:13:55.982277Z");
    expect(c?.timeNs).toBe(1762820035982277754n);
    expect(c?.last).toBe("1762820035982277754");
  });

  test("a 6-element (pre-2021) row is read but rejected with the reason: the contract needs trade_id", () => {
    const page = rest('["3539.70000","0.01000000",1548111751.5556,"b","l",""]');
    expect(page.trades).toEqual([]);
    expect(page.rowCount).toBe(1);
    expect(page.rejections[0]?.reason).toContain("6-element row");
  });

  test("bad rows are rejected one by one with a reason; good rows around them still map", () => {
    const page = rest(
      [
        '["1.00000","1.00000000",1762795433.5,"b","l","",1]',
        '["1.05","1.00000000",1762795433.5,"b","l","",2]',
        '[1.0,"1.00000000",1762795433.5,"b","l","",3]',
        '["1.00000","1.00000000","1762795433.5","b","l","",4]',
        '["1.00000","1.00000000",1762795433.5,"x","l","",5]',
        '["1.00000","1.00000000",1762795433.5,"b","l","",0]',
        '["1.00000","-1.00000000",1762795433.5,"b","l","",7]',
        '["1.00000","1.00000000",1762795433.5,"b","l","",8,9]',
        '["1.00000","1.00000000",1762795433.5,"s","m","",9]',
      ].join(","),
    );
    expect(page.trades.map((t) => t.message.trade_id)).toEqual([1, 9]);
    expect(page.rejections.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(page.rejections[0]?.reason).toContain("more than 1 fractional digits");
  });

  test("an unknown result key or a non-cursor last is a page-level error", () => {
    expect(() => rest('["1.0","1.0",1.5,"b","l","",1]', '"1"', "FOOBAR")).toThrow(/not a known pair/);
    expect(() => rest('["1.0","1.0",1.5,"b","l","",1]', "1.5")).toThrow(/not a ns cursor/);
  });
});

describe("WS v2 trades", () => {
  const frame = (item: string) => {
    const f = classifyWsFrame(`{"channel":"trade","type":"update","data":[${item}]}`);
    if (f.kind !== "data") throw new Error("not data");
    return mapWsTrades(f.data, registry, AT);
  };
  const base =
    '"symbol":"DOGE/USD","side":"sell","ord_type":"market","trade_id":5,"timestamp":"2024-05-27T12:43:11.798009Z"';

  test("prices and quantities are rebuilt at the pair's precision from the token, exponents included", () => {
    const r = frame(`{${base},"price":0.1,"qty":1e-8}`);
    expect(r.records[0]?.message.price).toBe("0.1000000");
    expect(r.records[0]?.message.qty).toBe("0.00000001");
    expect(r.records[0]?.timeNs).toBe(1716813791798009000n);
  });

  test("values with more digits than the precision are rejected, never rounded", () => {
    const r = frame(`{${base},"price":0.12345678,"qty":1.0}`);
    expect(r.records).toEqual([]);
    expect(r.rejections[0]?.reason).toContain("price");
  });

  test("an unconfigured symbol, a string price or a bad timestamp is rejected with its index", () => {
    const r = frame(
      [
        `{${base.replace("DOGE/USD", "ETH/USD")},"price":1.0,"qty":1.0}`,
        `{${base},"price":"0.1","qty":1.0}`,
        `{${base.replace("2024-05-27T12", "2024-13-27T12")},"price":0.1,"qty":1.0}`,
        `{${base},"price":0.1,"qty":1.0}`,
      ].join(","),
    );
    expect(r.records).toHaveLength(1);
    expect(r.rejections.map((x) => x.index)).toEqual([0, 1, 2]);
  });
});

describe("WS v2 frame classification", () => {
  test("anything that is not a known message kind is refused with a reason", () => {
    for (const text of [
      "",
      "42",
      "[1,2]",
      '{"channel":"foo","type":"update","data":[]}',
      '{"method":"subscribe"}',
      '{"channel":"trade","type":"x","data":[]}',
    ]) {
      expect(() => classifyWsFrame(text)).toThrow();
    }
  });

  test("subscription refusals carry the refused symbol", () => {
    const f = classifyWsFrame(
      '{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD"}',
    );
    expect(f).toEqual({
      kind: "request_error",
      method: "subscribe",
      error: "Currency pair not supported XBT/USD",
      symbol: "XBT/USD",
      reqId: undefined,
    });
  });
});
