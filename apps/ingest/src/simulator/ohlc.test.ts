/** The simulator's OHLC is Kraken's shape computed from its own tape; a fault changes exactly one field. */
import { expect, test } from "bun:test";
import { OHLC_FAULT_FIELDS, type OhlcFaultField, ohlcBody, ohlcFaultPicker } from "./ohlc.ts";
import { TradeTape } from "./tape.ts";

const M = 60_000_000_000n;
const T0 = 1_762_777_200n * 1_000_000_000n; // a minute boundary
const format = { symbol: "BTC/USD", pairId: "XXBTZUSD", priceDecimals: 1, lotDecimals: 8 };

function tape(): TradeTape {
  const t = new TradeTape("BTC/USD", 1);
  const add = (offsetNs: bigint, price: bigint, qty: bigint) =>
    t.append({
      tradeId: t.lastTradeId + 1,
      priceUnits: price,
      qtyUnits: qty,
      side: "buy",
      ordType: "market",
      timeNs: T0 + offsetNs,
    });
  add(5n, 1_060_381n, 32_101n);
  add(M / 2n, 1_060_443n, 1_000_000n);
  add(M - 1n, 1_060_401n, 2n);
  add(3n * M + 7n, 1_060_480n, 109_838n); // minute 3; minutes 1 and 2 are empty
  return t;
}

type Row = [number, string, string, string, string, string, string, number];

/** The simulator's OHLC of the test tape at `nowNs`, parsed. */
function candles(nowNs: bigint, since?: bigint, fault: () => OhlcFaultField | undefined = () => undefined) {
  const body = ohlcBody({ tape: tape(), format, intervalMinutes: 1, since, nowNs, fault });
  return JSON.parse(body).result as { XXBTZUSD: Row[]; last: number };
}

test("candles from the tape: committed rows, empty minutes repeat the close, the forming row last", () => {
  const r = candles(T0 + 4n * M + 1n);
  const rows = r.XXBTZUSD;
  expect(rows.map((x) => x[0])).toEqual([0, 1, 2, 3, 4].map((i) => 1_762_777_200 + 60 * i));
  expect(rows[0]).toEqual([
    1_762_777_200,
    "106038.1",
    "106044.3",
    "106038.1",
    "106040.1",
    "106044.1",
    "0.01032103",
    3,
  ]);
  expect(rows[1]).toEqual([
    1_762_777_260,
    "106040.1",
    "106040.1",
    "106040.1",
    "106040.1",
    "0.0",
    "0.00000000",
    0,
  ]);
  expect(rows[3]?.[7]).toBe(1);
  expect(r.last).toBe(1_762_777_200 + 180);
  const since = candles(T0 + 4n * M + 1n, 1_762_777_320n);
  expect(since.XXBTZUSD.map((x) => x[0])).toEqual([1_762_777_380, 1_762_777_440]);
});

test("an injected disagreement changes exactly the chosen field of a committed candle, never the forming one", () => {
  for (const field of OHLC_FAULT_FIELDS) {
    const clean = candles(T0 + 3n * M + 9n);
    const bad = candles(T0 + 3n * M + 9n, undefined, () => field);
    const names = ["time", "open", "high", "low", "close", "vwap", "volume", "trade_count"];
    const differing = clean.XXBTZUSD[0]
      ?.map((v, i) => (v === bad.XXBTZUSD[0]?.[i] ? undefined : names[i]))
      .filter(Boolean);
    expect(differing).toEqual([field]);
    expect(bad.XXBTZUSD.at(-1)).toEqual(clean.XXBTZUSD.at(-1) as Row);
  }
  const pick = ohlcFaultPicker(7, "BTC/USD", 0.25);
  const minutes = Array.from({ length: 2000 }, (_, i) => pick(1_762_777_200n + 60n * BigInt(i)));
  expect(minutes.filter(Boolean).length / 2000).toBeCloseTo(0.25, 1);
  expect(pick(1_762_777_200n)).toBe(ohlcFaultPicker(7, "BTC/USD", 0.25)(1_762_777_200n));
});
