/**
 * Reconciliation of our 1-minute candles with Kraken's own OHLC, on the recorded REST OHLC response
 * (shared/fixtures/kraken/rest_ohlc.jsonl, 720 committed rows + the forming one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatMicros } from "@tributary/shared/time";
import { runSilverKrakenOhlc } from "../../silver/kraken-ohlc.ts";
import { runSilverTrades } from "../../silver/trades.ts";
import { type BronzeRecord, commitBronze, tradeJson } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { GOLD, GOLD_SCHEMAS } from "../datasets.ts";
import { runGoldMarket } from "./market.ts";

const FIXTURE = join(import.meta.dir, "../../../../../../shared/fixtures/kraken/rest_ohlc.jsonl");

type Row = [number, string, string, string, string, string, string, number];
interface Recorded {
  readonly rows: readonly Row[];
  readonly last: number;
}

function recordedOhlc(): Recorded {
  const first = readFileSync(FIXTURE, "utf8").split("\n")[0] as string;
  const result = (JSON.parse(first) as { body: { result: { XBTUSDT: Row[]; last: number } } }).body.result;
  return { rows: result.XBTUSDT, last: result.last };
}

/** A `kraken.ohlc` message (the contract the ingest app's OHLC job writes) for one Kraken row. */
function ohlcJson(
  r: Row,
  fetchedAt = "2025-11-11T00:17:00.000000Z",
  over: Record<string, unknown> = {},
): string {
  const [time, open, high, low, close, vwap, volume, count] = r;
  return JSON.stringify({
    v: 1,
    exchange: "KRAKEN",
    symbol: "BTC/USD",
    interval: 1,
    ts: formatMicros(BigInt(time) * 1_000_000n),
    open,
    high,
    low,
    close,
    vwap,
    volume,
    trade_count: count,
    fetched_at: fetchedAt,
    ...over,
  });
}

function ohlcRecords(values: readonly string[], firstOffset = 0): BronzeRecord[] {
  return values.map((value, i) => ({
    topic: "kraken.ohlc",
    partition: 0,
    offset: firstOffset + i,
    key: "BTC/USD",
    value,
    ingestedAt: 1_762_820_300_000_000n + BigInt(i),
  }));
}

const iso = (unixSeconds: number): string => formatMicros(BigInt(unixSeconds) * 1_000_000n);

let lake: TempLake;
let fetch: Recorded;

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
  // The OHLC job publishes the committed rows (the 721st is the forming minute).
  const committed = fetch.rows.filter((r) => r[0] <= fetch.last);
  expect(committed).toHaveLength(720);
  await commitBronze(lake.commitLog, ohlcRecords(committed.map((r) => ohlcJson(r))), {
    dataset: "kraken_ohlc",
  });
  const silver = await runSilverKrakenOhlc(lake.env);
  expect(silver).toMatchObject({ bronzeRows: 720, validRows: 720, quarantinedRows: 0 });
  await runGoldMarket(lake.env, { graceMinutes: 5 });
});

afterAll(() => lake?.cleanup());

describe("candle reconciliation with Kraken OHLC", () => {
  test("silver holds Kraken's 720 committed minutes", async () => {
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
    const hour12 = fetch.rows.filter((r) => iso(r[0]).startsWith("2025-11-10T12") && r[0] <= fetch.last);
    const withTrades = hour12.filter((r) => r[7] > 0).length;
    const [q] = await lake.query(
      `SELECT rows::INT AS rows, kraken_ohlc_minutes_checked::INT AS checked, kraken_ohlc_minutes_mismatched::INT AS mismatched
       FROM ${lake.scan("gold", "data_quality_hourly")} WHERE hour = '2025-11-10 12:00:00+00'`,
    );
    // Every minute with trades disagrees except 12:19 and 12:20.
    expect(q).toEqual({ rows: 5, checked: hour12.length, mismatched: withTrades - 2 });
  });

  test("vwap tolerance is one unit of Kraken's last printed digit; a minute fetched again keeps its latest fetch", async () => {
    const base: Row = [1762777000 - 40, "1.0", "1.0", "1.0", "1.0", "1.0", "2.0", 1];
    const at = (minute: number, vwap: string): Row => [
      base[0] - 60 * minute,
      "1.0",
      "1.0",
      "1.0",
      "1.0",
      vwap,
      "2.0",
      1,
    ];
    await commitBronze(
      lake.commitLog,
      ohlcRecords(
        [
          ohlcJson(at(1, "12"), "2025-11-10T11:00:00.000000Z"),
          ohlcJson(at(2, "1.2345")),
          ohlcJson(at(1, "12.5"), "2025-11-10T11:05:00.000000Z"), // later fetch of minute 1
        ],
        720,
      ),
      { dataset: "kraken_ohlc" },
    );
    await runSilverKrakenOhlc(lake.env);
    const rows = await lake.query(
      `SELECT epoch(minute)::BIGINT::VARCHAR AS t, vwap::VARCHAR AS v, vwap_tolerance::VARCHAR AS tol FROM ${lake.scan("silver", "kraken_ohlc_1m")}
       WHERE minute < '2025-11-10 12:16:00+00' OR minute IN ('2025-11-10 12:20:00+00') ORDER BY minute`,
    );
    expect(rows).toEqual([
      { t: String(base[0] - 120), v: "1.2345000000", tol: "0.0001000000" },
      { t: String(base[0] - 60), v: "12.5000000000", tol: "0.1000000000" },
      { t: "1762777200", v: "106039.6000000000", tol: "0.1000000000" },
    ]);
  });

  test("messages of the wrong shape are quarantined with a reason, not dropped", async () => {
    const good: Row = [1700000040, "1.0", "1.0", "1.0", "1.0", "1.0", "2.0", 1];
    const bad: Array<[string, string]> = [
      [ohlcJson(good, undefined, { interval: 5 }), "interval is not 1"],
      [ohlcJson(good, undefined, { ts: "2023-11-14T22:14:30.000000Z" }), "ts is not the start of a minute"],
      [ohlcJson(good, undefined, { high: 1.5 }), "high is not a decimal string"],
      [ohlcJson(good, undefined, { volume: "-2.0" }), "volume is negative"],
      [ohlcJson(good, undefined, { trade_count: -1 }), "trade_count is not a non-negative integer"],
      ["[1700000040, 1.5]", "value is not a JSON object"],
    ];
    await commitBronze(
      lake.commitLog,
      ohlcRecords(
        bad.map(([v]) => v),
        800,
      ),
      { dataset: "kraken_ohlc" },
    );
    const r = await runSilverKrakenOhlc(lake.env);
    expect(r).toMatchObject({ bronzeRows: bad.length, validRows: 0, quarantinedRows: bad.length });
    const q = await lake.query(
      `SELECT kafka_offset::INT AS o, reason FROM ${lake.scan("silver", "kraken_ohlc_1m_quarantine")} ORDER BY kafka_offset`,
    );
    expect(q.map((x) => Number(x.o))).toEqual(bad.map((_, i) => 800 + i));
    for (const [i, row] of q.entries())
      expect(String(row.reason)).toStartWith((bad[i] as [string, string])[1]);
  });

  test("its files have the columns GOLD_SCHEMAS gives, in order", async () => {
    const rows = await lake.query(`DESCRIBE SELECT * FROM ${lake.scan("gold", GOLD.reconciliation)}`);
    expect(rows.map((r) => [r.column_name, r.column_type])).toEqual(
      Object.entries(GOLD_SCHEMAS[GOLD.reconciliation] ?? {}),
    );
  });
});
