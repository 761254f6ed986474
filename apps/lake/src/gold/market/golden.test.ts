/**
 * Golden test: a fixed, hand-checked trade set through silver, gold and the CSV export.
 * It has duplicates across batches (1003 via REST, 1008 twice), an out-of-order batch (1004 before
 * 1003), equal timestamps (1003 and 1004), a late trade (1005 arrives ten hours late), hour and day
 * boundaries (13:59:59.999999 / 14:00:00, 23:59:59.999999 / 00:00:00), a trade_id gap (1009) and
 * one invalid message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runCsvExport } from "../../export/csv-export.ts";
import { deleteJobState } from "../../runtime/job-state.ts";
import { runSilverTrades } from "../../silver/trades.ts";
import { type BronzeRecord, commitBronze, tradeJson } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { GOLD_MARKET_JOB, runGoldMarket } from "./market.ts";

const GOLDEN = join(import.meta.dir, "golden", "KRAKEN");
const at = parseRfc3339Micros;
let clockNow = at("2022-04-11T14:00:31Z");
let lake: TempLake;
let exportDir: string;
const exportConfig = () => ({
  dir: exportDir,
  timeZone: "UTC",
  pattern: "KRAKEN/{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv",
  graceMinutes: 5,
});

type ExportResult = Awaited<ReturnType<typeof runCsvExport>>;
let beforeLate: { files: string[]; csv13: string; csv14: string; stat13: Stats };
let afterLate: { result: ExportResult; csv14: string; csv23: string; stat13: Stats };
let afterMidnight: { result: ExportResult; csv00: string };
let rebuildPass: ExportResult;

let offset = 0;
function trade(
  id: number,
  ts: string,
  price: string,
  qty: string,
  side: "buy" | "sell",
  ingested: string,
  extra = {},
) {
  const r: BronzeRecord = {
    partition: 0,
    offset: offset++,
    key: "BTC/USD",
    value: tradeJson({ trade_id: id, ts, price, qty, side, received_at: ingested, ...extra }),
    ingestedAt: at(ingested),
  };
  return r;
}

const snapshot = async (ds: string, order: string): Promise<unknown> =>
  lake.query(`SELECT * FROM ${lake.scan("gold", ds)} ORDER BY ${order}`);

const csvFiles = (): string[] => readdirSync(join(exportDir, "KRAKEN")).sort();
const csv = (name: string): string => readFileSync(join(exportDir, "KRAKEN", name), "latin1");
const golden = (name: string): string => readFileSync(join(GOLDEN, name), "latin1");

async function tick(now: string): Promise<void> {
  clockNow = at(now);
  await runSilverTrades(lake.env);
  await runGoldMarket(lake.env, { graceMinutes: 5 });
}

beforeAll(async () => {
  lake = createTempLake({ now: () => clockNow });
  exportDir = join(lake.root, "..", "export");
  // Batch 1, out of order: 1004 is offset before 1003.
  const b1 = "2022-04-11T14:00:31Z";
  await commitBronze(lake.commitLog, [
    trade(1001, "2022-04-11T13:59:59.999999Z", "40000.1", "0.5", "buy", b1),
    trade(1002, "2022-04-11T14:00:00.000000Z", "40001.0", "0.25", "sell", b1),
    trade(1004, "2022-04-11T14:00:30.000000Z", "39999.9", "0.1", "sell", b1),
    trade(1003, "2022-04-11T14:00:30.000000Z", "40002.5", "1.0", "buy", b1, { ord_type: "market" }),
  ]);
  await tick("2022-04-11T14:00:32Z");
  await runCsvExport(lake.env, exportConfig()); // 14:00:32: hour 13 not closed + grace yet
  clockNow = at("2022-04-11T14:06:00Z");
  await runCsvExport(lake.env, exportConfig());
  // Batch 2: 1006, the REST copy of 1003 (a duplicate), and an invalid price.
  const b2 = "2022-04-11T14:05:01Z";
  await commitBronze(lake.commitLog, [
    trade(1006, "2022-04-11T14:05:00.000000Z", "40020.0", "2.0", "buy", b2),
    trade(1003, "2022-04-11T14:00:30.000000Z", "40002.5", "1.0", "buy", b2, {
      ord_type: "market",
      source: "rest",
    }),
    trade(1099, "2022-04-11T14:06:00.000000Z", "40000.12345678901", "1.0", "buy", b2),
  ]);
  await tick("2022-04-11T15:06:00Z");
  await runCsvExport(lake.env, exportConfig());
  beforeLate = {
    files: csvFiles(),
    csv13: csv("13_11_04_22_BTC_USD.csv"),
    csv14: csv("14_11_04_22_BTC_USD.csv"),
    stat13: statSync(join(exportDir, "KRAKEN", "13_11_04_22_BTC_USD.csv")),
  };

  // Batch 3, ten hours later: trades around midnight and one ten hours late. Every test below sees the
  // whole history, so each can run alone (`-t`); the export passes are recorded for the export tests.
  const b3 = "2022-04-12T00:00:02Z";
  await commitBronze(lake.commitLog, [
    trade(1007, "2022-04-11T23:59:59.999999Z", "41000.0", "0.3", "sell", b3),
    trade(1008, "2022-04-12T00:00:00.000000Z", "41001.0", "0.7", "buy", b3),
    trade(1010, "2022-04-12T00:00:01.000000Z", "41002.0", "0.001", "sell", b3),
    trade(1008, "2022-04-12T00:00:00.000000Z", "41001.0", "0.7", "buy", b3),
    trade(1005, "2022-04-11T14:04:59.999999Z", "40010.0", "0.05", "buy", b3), // ten hours late
  ]);
  await tick("2022-04-12T00:10:00Z");
  const late = await runCsvExport(lake.env, exportConfig());
  afterLate = {
    result: late,
    csv14: csv("14_11_04_22_BTC_USD.csv"),
    csv23: csv("23_11_04_22_BTC_USD.csv"),
    stat13: statSync(join(exportDir, "KRAKEN", "13_11_04_22_BTC_USD.csv")),
  };
  clockNow = at("2022-04-12T01:05:00Z");
  const midnight = await runCsvExport(lake.env, exportConfig());
  afterMidnight = { result: midnight, csv00: csv("00_12_04_22_BTC_USD.csv") };
  rebuildPass = await runCsvExport(lake.env, exportConfig(), { rebuild: true });
}, 60_000);

afterAll(() => lake?.cleanup());

describe("golden trade set", () => {
  test("the closed hours are exported byte-exact, the open one waits for its grace period", () => {
    expect(beforeLate.files).toEqual(["13_11_04_22_BTC_USD.csv", "14_11_04_22_BTC_USD.csv"]);
    expect(beforeLate.csv13).toEqual(golden("13_11_04_22_BTC_USD.golden.csv"));
    expect(beforeLate.csv14).toEqual(golden("14_11_04_22_BTC_USD.before-late.golden.csv"));
  });

  test("late trades rewrite their hour; other files stay untouched", () => {
    expect(afterLate.result).toMatchObject({ written: 2, pending: 1 }); // 14 rewritten, 23 new; 00 still open
    expect(afterLate.csv14).toEqual(golden("14_11_04_22_BTC_USD.golden.csv"));
    expect(afterLate.csv23).toEqual(golden("23_11_04_22_BTC_USD.golden.csv"));
    const { stat13: before } = beforeLate;
    const { stat13: after } = afterLate;
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(afterMidnight.result.written).toBe(1);
    expect(afterMidnight.csv00).toEqual(golden("00_12_04_22_BTC_USD.golden.csv"));
    // Nothing changed since: a rebuild pass rewrites no file.
    expect(rebuildPass).toMatchObject({ written: 0, unchanged: 4 });
  });

  test("silver holds each trade once, the duplicates and the invalid row are set aside", async () => {
    const rows = await lake.query(
      `SELECT trade_id::INT AS id, source, kafka_offset::INT AS o FROM ${lake.scan("silver", "kraken_trades")} ORDER BY trade_id`,
    );
    expect(rows.map((r) => r.id)).toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1010]);
    expect(rows.find((r) => r.id === 1003)?.source).toBe("ws");
    const dups = await lake.query(
      `SELECT trade_id::INT AS id FROM ${lake.scan("silver", "kraken_trades_duplicates")} ORDER BY 1`,
    );
    expect(dups.map((r) => r.id)).toEqual([1003, 1008]);
  });

  test("1-minute candles are the hand-checked values (open/close by trade_id at equal timestamps)", async () => {
    const c =
      await lake.query(`SELECT strftime(bucket_start, '%Y-%m-%d %H:%M') AS b, open::VARCHAR AS o, high::VARCHAR AS h,
      low::VARCHAR AS l, close::VARCHAR AS c, base_volume::VARCHAR AS v, quote_volume::VARCHAR AS q, vwap::VARCHAR AS vwap,
      trade_count::INT AS n, buy_volume::VARCHAR AS buy, sell_volume::VARCHAR AS sell, first_trade_id::INT AS f, last_trade_id::INT AS t
      FROM ${lake.scan("gold", "candles_1m")} ORDER BY bucket_start`);
    expect(c).toEqual([
      row(
        "2022-04-11 13:59",
        "40000.1",
        "40000.1",
        "40000.1",
        "40000.1",
        "0.5",
        "20000.05",
        "40000.1",
        1,
        "0.5",
        "0",
        1001,
        1001,
      ),
      row(
        "2022-04-11 14:00",
        "40001",
        "40002.5",
        "39999.9",
        "39999.9",
        "1.35",
        "54002.74",
        "40002.0296296296",
        3,
        "1",
        "0.35",
        1002,
        1004,
      ),
      row(
        "2022-04-11 14:04",
        "40010",
        "40010",
        "40010",
        "40010",
        "0.05",
        "2000.5",
        "40010",
        1,
        "0.05",
        "0",
        1005,
        1005,
      ),
      row(
        "2022-04-11 14:05",
        "40020",
        "40020",
        "40020",
        "40020",
        "2",
        "80040",
        "40020",
        1,
        "2",
        "0",
        1006,
        1006,
      ),
      row(
        "2022-04-11 23:59",
        "41000",
        "41000",
        "41000",
        "41000",
        "0.3",
        "12300",
        "41000",
        1,
        "0",
        "0.3",
        1007,
        1007,
      ),
      row(
        "2022-04-12 00:00",
        "41001",
        "41002",
        "41001",
        "41002",
        "0.701",
        "28741.702",
        "41001.0014265335",
        2,
        "0.7",
        "0.001",
        1008,
        1010,
      ),
    ]);
  });

  test("5-minute, 1-hour and 1-day candles roll up exactly (vwap rounded half up to 10 decimals)", async () => {
    const q = (ds: string) =>
      lake.query(`SELECT strftime(bucket_start, '%Y-%m-%d %H:%M') AS b, open::VARCHAR AS o, close::VARCHAR AS c,
        base_volume::VARCHAR AS v, quote_volume::VARCHAR AS q, vwap::VARCHAR AS vwap, trade_count::INT AS n
        FROM ${lake.scan("gold", ds)} ORDER BY bucket_start`);
    expect((await q("candles_5m"))[1]).toEqual({
      b: "2022-04-11 14:00",
      o: d("40001"),
      c: d("40010"),
      v: d("1.4"),
      q: d("56003.24"),
      vwap: "40002.3142857143",
      n: 4,
    });
    expect((await q("candles_1h")).map((r) => [r.b, r.n, r.vwap])).toEqual([
      ["2022-04-11 13:00", 1, d("40000.1")],
      ["2022-04-11 14:00", 5, "40012.7176470588"],
      ["2022-04-11 23:00", 1, d("41000")],
      ["2022-04-12 00:00", 2, "41001.0014265335"],
    ]);
    expect(await q("candles_1d")).toEqual([
      {
        b: "2022-04-11 00:00",
        o: d("40000.1"),
        c: d("41000"),
        v: d("4.2"),
        q: d("168343.29"),
        vwap: "40081.7357142857",
        n: 7,
      },
      {
        b: "2022-04-12 00:00",
        o: d("41001"),
        c: d("41002"),
        v: d("0.701"),
        q: d("28741.702"),
        vwap: "41001.0014265335",
        n: 2,
      },
    ]);
  });

  test("daily summary: return, realized volatility of 1-minute log returns, max drawdown", async () => {
    const s = await lake.query(
      `SELECT day::VARCHAR AS day, "return" AS r, realized_vol AS vol, max_drawdown AS dd, trade_count::INT AS n FROM ${lake.scan("gold", "daily_summary")} ORDER BY day`,
    );
    expect(s.map((r) => [r.day, r.n])).toEqual([
      ["2022-04-11", 7],
      ["2022-04-12", 2],
    ]);
    expect(s[0]?.r as number).toBeCloseTo(0.024997437506406373, 14);
    expect(s[0]?.vol as number).toBeCloseTo(0.024195346013793733, 14);
    expect(s[0]?.dd as number).toBeCloseTo(4.9999874999206995e-6, 16);
    expect(s[1]?.vol as number).toBeCloseTo(2.438935161018706e-5, 16);
    expect(s[1]?.dd).toBe(0);
  });

  test("data quality per hour: duplicates, quarantine, trade_id gaps across the day boundary, late arrivals", async () => {
    const qh =
      await lake.query(`SELECT strftime(hour, '%Y-%m-%d %H') AS h, rows::INT AS rows, duplicates_removed::INT AS dups,
      quarantined::INT AS bad, trade_id_gaps::INT AS gaps, missing_trades::INT AS missing, late_arrivals::INT AS late
      FROM ${lake.scan("gold", "data_quality_hourly")} ORDER BY hour`);
    expect(qh).toEqual([
      { h: "2022-04-11 13", rows: 1, dups: 0, bad: 0, gaps: 0, missing: 0, late: 0 },
      { h: "2022-04-11 14", rows: 5, dups: 1, bad: 1, gaps: 0, missing: 0, late: 1 },
      { h: "2022-04-11 23", rows: 1, dups: 0, bad: 0, gaps: 0, missing: 0, late: 0 },
      { h: "2022-04-12 00", rows: 2, dups: 1, bad: 0, gaps: 1, missing: 1, late: 0 },
    ]);
  });

  test("an incremental history and a full rebuild give identical gold", async () => {
    const datasets: Array<[string, string]> = [
      ["candles_1m", "bucket_start"],
      ["candles_5m", "bucket_start"],
      ["candles_15m", "bucket_start"],
      ["candles_1h", "bucket_start"],
      ["candles_1d", "bucket_start"],
      ["daily_summary", "day"],
      ["data_quality_hourly", "hour"],
    ];
    const before = [];
    for (const [ds, order] of datasets) before.push(await snapshot(ds, order));
    await deleteJobState(lake.store, GOLD_MARKET_JOB);
    const rebuilt = await runGoldMarket(lake.env, { graceMinutes: 5, rebuild: true });
    expect(rebuilt.full).toBe(true);
    const after = [];
    for (const [ds, order] of datasets) after.push(await snapshot(ds, order));
    expect(after).toEqual(before);
  });

  test("the export time zone changes which local hour names a file, not its rows", async () => {
    const dir = join(exportDir, "..", "export-ny");
    await runCsvExport(lake.env, { ...exportConfig(), dir, timeZone: "America/New_York" }, { rebuild: true });
    // 14:00 UTC on 11 April 2022 is 10:00 EDT.
    expect(readFileSync(join(dir, "KRAKEN", "10_11_04_22_BTC_USD.csv"), "latin1")).toEqual(
      golden("14_11_04_22_BTC_USD.golden.csv"),
    );
  });
});

/** DuckDB prints DECIMAL(38,10) with 10 fractional digits. */
function d(text: string): string {
  const [w, f = ""] = text.split(".");
  return `${w}.${f.padEnd(10, "0")}`;
}

function row(
  b: string,
  o: string,
  h: string,
  l: string,
  c: string,
  v: string,
  q: string,
  vwap: string,
  n: number,
  buy: string,
  sell: string,
  f: number,
  t: number,
) {
  return {
    b,
    o: d(o),
    h: d(h),
    l: d(l),
    c: d(c),
    v: d(v),
    q: d(q),
    vwap: d(vwap),
    n,
    buy: d(buy),
    sell: d(sell),
    f,
    t,
  };
}
