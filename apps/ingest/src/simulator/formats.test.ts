/**
 * Golden: the simulator prints REST Trades exactly as Kraken does. Each recorded page is rebuilt from
 * its values alone (price and size in units, the instant in ns, side, type, id) and must come out byte
 * for byte; the 1,000-trade page's final row is printed from Kraken's own ns `last`.
 */
import { expect, test } from "bun:test";
import {
  isArray,
  isObject,
  type JsonNumber,
  type LosslessValue,
  parseLossless,
} from "../kraken/lossless-json.ts";
import { loadRestFixtures } from "./fixtures.ts";
import { restTradeRow, restTradesBody } from "./formats.ts";
import { stringifyLossless } from "./rest.ts";
import type { TapeTrade } from "./tape.ts";

const pages = loadRestFixtures().filter((f) => f.endpoint === "/0/public/Trades");

/** A recorded row back to tape values; `ns` overrides the instant read from the float token. */
function tapeTrade(row: LosslessValue, ns?: bigint): TapeTrade {
  if (!isArray(row)) throw new Error("row is not an array");
  const [price, qty, time, side, type, , id] = row;
  const units = (s: LosslessValue | undefined) => BigInt(String(s).replace(".", ""));
  const token = (time as JsonNumber).text;
  const [whole, frac = ""] = token.split(".");
  return {
    tradeId: Number((id as JsonNumber).text),
    priceUnits: units(price) / 10_000n, // REST pads the 1-decimal price to 5 decimals
    qtyUnits: units(qty),
    side: side === "b" ? "buy" : "sell",
    ordType: type === "m" ? "market" : "limit",
    timeNs: ns ?? BigInt(whole as string) * 1_000_000_000n + BigInt(frac.padEnd(9, "0")),
  };
}

function pageOf(id: string): { key: string; rows: readonly LosslessValue[]; last: string; body: string } {
  const f = pages.find((p) => p.id === id);
  if (!f) throw new Error(`no fixture ${id}`);
  const env = parseLossless(f.body);
  const result = isObject(env) && isObject(env.result) ? env.result : {};
  const key = Object.keys(result).find((k) => k !== "last") as string;
  return { key, rows: result[key] as readonly LosslessValue[], last: String(result.last), body: f.body };
}

test("the recorded 1,000-trade page is rebuilt byte for byte, its final time printed from Kraken's ns last", () => {
  const page = pageOf("trades-xbtusdt-1000-2025-11-10");
  expect(page.rows.length).toBe(1000);
  const format = { symbol: "BTC/USDT", pairId: page.key, priceDecimals: 1, lotDecimals: 8 };
  const trades = page.rows.map((r, i) =>
    tapeTrade(r, i === page.rows.length - 1 ? BigInt(page.last) : undefined),
  );
  expect(restTradesBody(format, trades, page.last)).toBe(page.body);
  // Kraken's float is the nearest double: the naive Number(ns) / 1e9 prints a different last digit.
  expect(String(Number(BigInt(page.last)) / 1e9)).not.toBe(
    (page.rows.at(-1) as LosslessValue[])[2]?.toString(),
  );
  expect(String(Number(BigInt(page.last)) / 1e9)).toBe("1762820035.9822776");
  expect(((page.rows.at(-1) as LosslessValue[])[2] as JsonNumber).text).toBe("1762820035.9822779");
});

test("every row of the other recorded and documented pages prints back to its recorded bytes", () => {
  for (const id of ["trades-xxbtzusd-kar-2023-11-26", "trades-xxbtzusd-docs-2023-07-06"]) {
    const page = pageOf(id);
    const format = { symbol: "BTC/USD", pairId: page.key, priceDecimals: 1, lotDecimals: 8 };
    expect(page.rows.length).toBeGreaterThan(0);
    for (const row of page.rows) expect(restTradeRow(tapeTrade(row), format)).toBe(stringifyLossless(row));
  }
});
