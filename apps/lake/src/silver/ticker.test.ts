import { afterEach, describe, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runGoldMarket } from "../gold/market/market.ts";
import { type BronzeRecord, commitBronze } from "../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../testing/temp-lake.ts";
import { runSilverTicker } from "./ticker.ts";

let lake: TempLake;
afterEach(() => lake?.cleanup());

function ticker(
  offset: number,
  ts: string,
  bid: string,
  ask: string,
  extra: Record<string, unknown> = {},
): BronzeRecord {
  const value = JSON.stringify({
    v: 1,
    exchange: "KRAKEN",
    symbol: "BTC/USD",
    bid,
    bid_qty: "1.5",
    ask,
    ask_qty: "0.25",
    last: bid,
    volume: "4216.6182937",
    vwap: "64275.2",
    low: "61325.4",
    high: "66450.0",
    change: "-412.1",
    change_pct: "-0.62",
    ts,
    received_at: ts,
    source: "ws",
    ...extra,
  });
  return {
    topic: "kraken.ticker",
    partition: 0,
    offset,
    key: "BTC/USD",
    value,
    ingestedAt: parseRfc3339Micros(ts) + 1000n,
  };
}

describe("silver ticker and gold market metrics", () => {
  test("types snapshots exactly, keeps one copy of a repeated snapshot, quarantines bad ones", async () => {
    lake = createTempLake();
    await commitBronze(
      lake.commitLog,
      [
        ticker(0, "2024-05-15T11:20:43.013486Z", "65972.8", "65972.9"),
        ticker(1, "2024-05-15T11:20:43.013486Z", "65972.8", "65972.9"), // the same snapshot again
        ticker(2, "2024-05-15T11:20:50.000001Z", "65972.7", "65973.0"),
        ticker(3, "2024-05-15T11:20:55.000000Z", "65972.7", "65973.0", { bid: 65972.7 }), // a number, not a string
      ],
      { dataset: "kraken_ticker" },
    );
    const result = await runSilverTicker(lake.env);
    expect(result).toMatchObject({ bronzeRows: 4, validRows: 3, quarantinedRows: 1 });
    const rows =
      await lake.query(`SELECT strftime(ts, '%H:%M:%S.%f') AS t, bid::VARCHAR AS bid, change::VARCHAR AS change,
      typeof(ask) AS ty FROM ${lake.scan("silver", "kraken_ticker")} ORDER BY ts`);
    expect(rows).toEqual([
      { t: "11:20:43.013486", bid: "65972.8000000000", change: "-412.1000000000", ty: "DECIMAL(38,10)" },
      { t: "11:20:50.000001", bid: "65972.7000000000", change: "-412.1000000000", ty: "DECIMAL(38,10)" },
    ]);
    const [q] = await lake.query(`SELECT reason FROM ${lake.scan("silver", "kraken_ticker_quarantine")}`);
    expect(String(q?.reason)).toStartWith("bid is not a decimal string");
  });

  test("per minute: mid of the last snapshot exactly, mean spread in bps, sample count", async () => {
    lake = createTempLake();
    await commitBronze(
      lake.commitLog,
      [
        ticker(0, "2024-05-15T11:20:01.000000Z", "100.0", "100.2"),
        ticker(1, "2024-05-15T11:20:59.999999Z", "100.1", "100.2"),
        ticker(2, "2024-05-15T11:21:00.000000Z", "0.0000000001", "0.0000000002"),
      ],
      { dataset: "kraken_ticker" },
    );
    await runSilverTicker(lake.env);
    await runGoldMarket(lake.env, { graceMinutes: 5 });
    const m =
      await lake.query(`SELECT strftime(minute, '%H:%M') AS m, mid::VARCHAR AS mid, spread_bps AS s, samples::INT AS n
      FROM ${lake.scan("gold", "market_metrics_1m")} ORDER BY minute`);
    expect(m.map((r) => [r.m, r.mid, r.n])).toEqual([
      ["11:20", "100.1500000000", 2],
      // (1e-10 + 2e-10) / 2 = 1.5e-10, rounded half up to 10 decimals.
      ["11:21", "0.0000000002", 1],
    ]);
    const expected = (10_000 * 0.2) / 100.1 / 2 + (10_000 * 0.1) / 100.15 / 2;
    expect(m[0]?.s as number).toBeCloseTo(expected, 9);
  });
});
