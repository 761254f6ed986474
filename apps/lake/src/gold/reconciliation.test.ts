/**
 * Reconciliation of our 1-minute candles with Kraken's own OHLC, on the recorded REST OHLC response
 * (shared/fixtures/kraken/rest_ohlc.jsonl, 720 committed rows + the forming one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatMicros } from "@tributary/shared/time";
import {
  ingestKrakenOhlc,
  type KrakenOhlcFetch,
  parseKrakenOhlcResult,
  vwapTolerance,
} from "../silver/kraken-ohlc.ts";
import { type BronzeRecord, commitBronze, tradeJson } from "../silver/testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../silver/testing/temp-lake.ts";
import { runSilverTrades } from "../silver/trades.ts";
import { runGoldMarket } from "./market.ts";

const FIXTURE = join(import.meta.dir, "../../../../../shared/fixtures/kraken/rest_ohlc.jsonl");

function recordedOhlc(): KrakenOhlcFetch {
  const first = readFileSync(FIXTURE, "utf8").split("\n")[0] as string;
  const record = JSON.parse(first) as { body: { result: unknown } };
  const { fetch, rejected } = parseKrakenOhlcResult(record.body.result, "BTC/USD");
  expect(rejected).toEqual([]);
  return fetch;
}

const iso = (unixSeconds: number): string => formatMicros(BigInt(unixSeconds) * 1_000_000n);

let lake: TempLake;
let fetch: KrakenOhlcFetch;

beforeAll(async () => {
  lake = createTempLake();
  fetch = recordedOhlc();
  const trades: Array<[number, string, string, string]> = [
    // 12:19 one trade, exactly Kraken's row.
    [1, "2025-11-10T12:19:10.000000Z", "106038.3", "0.00032101"],
    // 12:20 three trades: o 106038.1, h 106044.3, l 106038.1, c 106040.1, volume 0.08317981,
    // vwap 106039.643… (Kraken prints 106039.6, one digit after the point).
    [2, "2025-11-10T12:20:01.000000Z", "106038.1", "0.04"],
    [3, "2025-11-10T12:20:02.000000Z", "106044.3", "0.01"],
    [4, "2025-11-10T12:20:03.000000Z", "106040.1", "0.03317981"],
    // 12:22 one trade whose quantity is one satoshi more than Kraken's volume.
    [5, "2025-11-10T12:22:00.500000Z", "106048.0", "0.00109839"],
  ];
  const records: BronzeRecord[] = trades.map(([id, ts, price, qty], i) => ({
    partition: 0,
    offset: i,
    key: "BTC/USD",
    value: tradeJson({ trade_id: id, ts, price, qty }),
    ingestedAt: BigInt(Date.parse(ts)) * 1000n + 1_000_000n,
  }));
  await commitBronze(lake.commitLog, records);
  await runSilverTrades(lake.env);
  await runGoldMarket(lake.env, { graceMinutes: 5 });
  const ingested = await ingestKrakenOhlc(lake.env, fetch);
  expect(ingested).toMatchObject({ ingested: 720, forming: 1, rejected: [] });
  await runGoldMarket(lake.env, { graceMinutes: 5 });
});

afterAll(() => lake?.cleanup());

describe("candle reconciliation with Kraken OHLC", () => {
  test("the still-forming last row is not stored", async () => {
    const [r] = await lake.query(
      `SELECT count(*)::INT AS n, max(epoch(minute))::BIGINT::VARCHAR AS last FROM ${lake.scan("silver", "kraken_ohlc_1m")}`,
    );
    expect(r).toEqual({ n: 720, last: String(fetch.last) });
  });

  test("agreeing minutes, a volume mismatch, missing candles and empty minutes are told apart", async () => {
    const rows = await lake.query(
      `SELECT strftime(minute, '%H:%M') AS m, status, mismatched_fields AS f FROM ${lake.scan("gold", "candle_reconciliation")}
       WHERE minute < '2025-11-10 12:25:00+00' ORDER BY minute`,
    );
    expect(rows).toEqual([
      { m: "12:17", status: "agree", f: "" },
      { m: "12:18", status: "agree", f: "" },
      { m: "12:19", status: "agree", f: "" },
      { m: "12:20", status: "agree", f: "" },
      { m: "12:21", status: "agree", f: "" },
      { m: "12:22", status: "disagree", f: "volume" },
      { m: "12:23", status: "agree", f: "" },
      { m: "12:24", status: "disagree", f: "missing_candle" },
    ]);
  });

  test("disagreement shows up in the hourly quality dataset", async () => {
    const hour12 = fetch.rows.filter((r) => iso(r.time).startsWith("2025-11-10T12") && r.time <= fetch.last);
    const withTrades = hour12.filter((r) => r.count > 0).length;
    const [q] = await lake.query(
      `SELECT rows::INT AS rows, kraken_ohlc_minutes_checked::INT AS checked, kraken_ohlc_minutes_mismatched::INT AS mismatched
       FROM ${lake.scan("gold", "data_quality_hourly")} WHERE hour = '2025-11-10 12:00:00+00'`,
    );
    // Every minute with trades disagrees except 12:19 and 12:20.
    expect(q).toEqual({ rows: 5, checked: hour12.length, mismatched: withTrades - 2 });
  });

  test("vwap tolerance is one unit of Kraken's last printed digit", () => {
    expect(vwapTolerance("106039.6")).toBe("0.1");
    expect(vwapTolerance("0.0")).toBe("0.1");
    expect(vwapTolerance("12")).toBe("1");
    expect(vwapTolerance("1.2345")).toBe("0.0001");
  });

  test("rows of the wrong shape are rejected with a reason, not dropped", () => {
    const { fetch: f, rejected } = parseKrakenOhlcResult(
      {
        XXBTZUSD: [
          [1700000040, "1.0", "1.0", "1.0", "1.0", "1.0", "2.0", 1],
          [1700000100, 1.5],
        ],
        last: 1700000040,
      },
      "BTC/USD",
    );
    expect(f.rows.length).toBe(1);
    expect(rejected.length).toBe(1);
    expect(rejected[0]?.reason).toContain("not [time");
  });
});
