import { expect, test } from "bun:test";
import { pairOfSymbol } from "@tributary/shared/lake/layout";
import { seededRandom } from "@tributary/shared/random";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import {
  canonicalMicrosAt,
  cdcEventFields,
  type EventFields,
  krakenEventFields,
  micros,
  UNKNOWN_SYMBOL,
} from "./event-time.ts";

const out = (): EventFields => ({ eventUs: Number.NaN, symbol: "" });

/** The reference: JSON.parse + shared/src/time.ts, as the slow path does it. */
function reference(value: string, key: string | null): { eventUs: number; symbol: string } {
  let eventUs = Number.NaN;
  let symbol = key === null ? UNKNOWN_SYMBOL : pairOfSymbol(key) || UNKNOWN_SYMBOL;
  try {
    const o = JSON.parse(value) as { ts?: unknown; symbol?: unknown };
    if (typeof o.symbol === "string" && o.symbol !== "") symbol = pairOfSymbol(o.symbol) || UNKNOWN_SYMBOL;
    if (typeof o.ts === "string") {
      try {
        eventUs = Number(parseRfc3339Micros(o.ts));
      } catch {
        eventUs = Number.NaN;
      }
    }
  } catch {
    // unparseable: Kafka timestamp, flagged
  }
  return { eventUs, symbol };
}

test("the fast scan gives exactly what JSON.parse + time.ts give, over 20,000 generated trade messages", () => {
  const rnd = seededRandom(42);
  const symbols = ["BTC/USD", "ETH/USD", "XBT/EUR", "DOGE/USD", "A-B/C"];
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    // Valid instants from 1900 to 2200, plus some out-of-range fields that only the general parser may judge.
    const us = Math.floor((rnd() * 300 - 70) * 365.25 * 86_400) * 1_000_000 + Math.floor(rnd() * 1_000_000);
    let ts = formatMicros(BigInt(us));
    const twist = rnd();
    if (twist < 0.03) ts = ts.replace(/T(\d\d)/, "T24");
    else if (twist < 0.06) ts = ts.replace(/:(\d\d)\./, ":60.");
    else if (twist < 0.08) ts = ts.replace("Z", "+02:00");
    else if (twist < 0.1) ts = ts.replace(/-(\d\d)T/, "-31T");
    else if (twist < 0.11) ts = `${ts.slice(0, 19)}Z`;
    const symbol = symbols[Math.floor(rnd() * symbols.length)] as string;
    const msg: Record<string, unknown> = {
      v: 1,
      exchange: "KRAKEN",
      symbol,
      trade_id: i,
      price: "1.5",
      qty: "2",
      ts,
    };
    if (rnd() < 0.05) delete msg.symbol;
    if (rnd() < 0.02) msg.nested = { ts: "1999-01-01T00:00:00.000000Z" };
    const text = rnd() < 0.05 ? JSON.stringify(msg, null, 1) : JSON.stringify(msg);
    const key = rnd() < 0.1 ? null : symbol;
    const got = out();
    krakenEventFields(Buffer.from(text), key === null ? null : Buffer.from(key), got);
    const want = reference(text, key);
    expect({ i, ...got }).toEqual({ i, ...want });
    if (!Number.isNaN(canonicalMicrosAt(Buffer.from(text), text.indexOf('"ts":"') + 6))) fast += 1;
  }
  expect(fast).toBeGreaterThan(15_000); // the fast path is the common case
});

test("a duplicate, escaped or nested ts key is left to JSON.parse", () => {
  const cases: Array<[string, number, string]> = [
    [
      '{"ts":"2020-01-01T00:00:00.000000Z","symbol":"BTC/USD","ts":"2021-01-01T00:00:00.000000Z"}',
      Date.UTC(2021, 0, 1) * 1000,
      "BTC_USD",
    ],
    ['{"a\\"ts":"2020-01-01T00:00:00.000000Z","symbol":"BTC/USD"}', Number.NaN, "BTC_USD"],
    ['{"meta":{"ts":"2020-01-01T00:00:00.000000Z"},"symbol":"ETH/USD"}', Number.NaN, "ETH_USD"],
    ['{"ts":"2020-01-01T00:00:00.000000Z","symbol":"B\\u0054C/USD"}', Date.UTC(2020, 0, 1) * 1000, "BTC_USD"],
  ];
  for (const [text, eventUs, symbol] of cases) {
    const got = out();
    krakenEventFields(Buffer.from(text), null, got);
    expect(got).toEqual({ eventUs, symbol });
  }
});

test("a book message (levels as nested arrays, no nested object) takes the fast scan: its ts and symbol", () => {
  const text =
    '{"v":1,"exchange":"KRAKEN","symbol":"BTC/USD","type":"update","session":"a1-1","seq":1,"depth":10,"bids":[],"asks":[["29431.1","0.00000000"],["29433.3","0.80000000"]],"checksum":3547452596,"checksum_status":"ok","ts":"2023-07-30T15:29:58.343415Z","received_at":"2023-07-30T15:29:58.401220Z","source":"ws"}';
  const got = out();
  krakenEventFields(Buffer.from(text), Buffer.from("BTC/USD"), got);
  expect(got).toEqual(reference(text, "BTC/USD"));
  expect(got).toEqual({
    eventUs: Number(parseRfc3339Micros("2023-07-30T15:29:58.343415Z")),
    symbol: "BTC_USD",
  });
});

test("bronze never rejects: garbage, empty and tombstone values give NaN (Kafka time, flagged) and a symbol from the key or _unknown", () => {
  const got = out();
  krakenEventFields(Buffer.from("\x00\xffnot json"), Buffer.from("BTC/USD"), got);
  expect(got).toEqual({ eventUs: Number.NaN, symbol: "BTC_USD" });
  krakenEventFields(null, null, got);
  expect(got).toEqual({ eventUs: Number.NaN, symbol: UNKNOWN_SYMBOL });
  krakenEventFields(Buffer.from('{"ts":"yesterday","symbol":"///"}'), null, got);
  expect(got).toEqual({ eventUs: Number.NaN, symbol: UNKNOWN_SYMBOL });
});

test("CDC event time is the source commit time in µs, also inside a {schema, payload} wrapper", () => {
  const got = out();
  cdcEventFields(
    Buffer.from(
      JSON.stringify({ op: "c", source: { ts_ms: 1714572000123, ts_us: 1714572000123456 }, ts_ms: 1 }),
    ),
    got,
  );
  expect(got.eventUs).toBe(1714572000123456);
  cdcEventFields(
    Buffer.from(JSON.stringify({ schema: {}, payload: { op: "u", source: { ts_ms: 1714572000123 } } })),
    got,
  );
  expect(got.eventUs).toBe(1714572000123000);
  cdcEventFields(Buffer.from(JSON.stringify({ op: "d", source: {}, ts_ms: 1714572000999 })), got);
  expect(got.eventUs).toBe(1714572000999000);
  cdcEventFields(Buffer.from("{"), got);
  expect(got.eventUs).toBeNaN();
});

test("micros keeps microseconds and refuses what time.ts refuses", () => {
  expect(micros("2024-05-01T14:00:00.123456Z")).toBe(Date.UTC(2024, 4, 1, 14) * 1000 + 123456);
  expect(micros("2024-02-30T00:00:00.000000Z")).toBeNaN();
});
