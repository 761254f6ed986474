/**
 * Gold (and the CSV export) recompute every hour the silver snapshot they read changed, not only the
 * hours silver's change journal lists by then. Silver commits its snapshot and then appends its
 * journal entry; a run in between (or after silver was killed between the two) reads the new snapshot
 * without the entry. The tests make that moment happen for sure: they remove the newest entry before
 * the reader runs. Each test has its own lake.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCsvExport } from "../../export/csv-export.ts";
import { isRecord, loadJobState } from "../../runtime/job-state.ts";
import { READ_KEY_PREFIX } from "../../runtime/snapshot-reader.ts";
import { SILVER_TRADES_JOB } from "../../silver/datasets.ts";
import { runSilverTrades } from "../../silver/trades.ts";
import { type BronzeRecord, commitBronze, sequentialTrades } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { GOLD } from "../datasets.ts";
import { GOLD_MARKET_JOB, runGoldMarket } from "./market.ts";

let lake: TempLake;
let exportDir: string;
beforeEach(() => {
  lake = createTempLake();
  exportDir = mkdtempSync(join(tmpdir(), "tributary-changed-hours-"));
  offset = 0;
});
afterEach(() => {
  lake?.cleanup();
  rmSync(exportDir, { recursive: true, force: true });
});

let offset = 0;
/** `n` BTC/USD trades in `hour` (UTC) of 2024-05-01, after the ones before. */
function trades(hour: number, n: number): BronzeRecord[] {
  const out = sequentialTrades(offset + 1, n, hour);
  offset += n;
  return out;
}

const hourlyCandles = async (): Promise<string[]> =>
  (
    await lake.query(
      `SELECT strftime(bucket_start, '%H') AS h, trade_count::INT AS n FROM ${lake.scan("gold", GOLD.candles["1h"])} ORDER BY h`,
    )
  ).map((r) => `${r.h}:${r.n}`);

/** Silver trades runs on `records`, then its newest journal entry is "not written yet". */
async function silverWithoutJournalEntry(records: readonly BronzeRecord[]): Promise<void> {
  await commitBronze(lake.commitLog, records);
  await runSilverTrades(lake.env);
  const entries = await journalKeys();
  await lake.store.delete(entries.at(-1) as string);
}

const journalKeys = async (): Promise<string[]> => {
  const out: string[] = [];
  for await (const o of lake.store.list(`_tributary/changes/${SILVER_TRADES_JOB}/`)) out.push(o.key);
  return out.sort();
};

test("a silver snapshot whose journal entry gold has not seen: gold still recomputes its hours", async () => {
  await commitBronze(lake.commitLog, trades(10, 30));
  await runSilverTrades(lake.env);
  await runGoldMarket(lake.env, { graceMinutes: 5 });
  expect(await hourlyCandles()).toEqual(["10:30"]);
  const first = await loadJobState(lake.store, GOLD_MARKET_JOB, isRecord);
  const readFirst = (first?.read as Record<string, string> | undefined)?.[
    `${READ_KEY_PREFIX}silver.kraken_trades`
  ];
  expect(readFirst).toBeString();

  // Silver adds hour 11 (same day), then its journal entry is "not written yet".
  expect((await journalKeys()).length).toBe(1);
  await silverWithoutJournalEntry(trades(11, 20));

  const run = await runGoldMarket(lake.env, { graceMinutes: 5 });
  expect(run.tradeDays).toBe(1);
  expect(await hourlyCandles()).toEqual(["10:30", "11:20"]);
  const second = await loadJobState(lake.store, GOLD_MARKET_JOB, isRecord);
  const readSecond = (second?.read as Record<string, string> | undefined)?.[
    `${READ_KEY_PREFIX}silver.kraken_trades`
  ];
  expect(readSecond).toBeString();
  expect(readSecond).not.toBe(readFirst);

  // Nothing new: the next run recomputes nothing, and gold equals a full rebuild.
  expect((await runGoldMarket(lake.env, { graceMinutes: 5 })).tradeDays).toBe(0);
  using held = await lake.hold("gold", [GOLD.candles["1h"], GOLD.candles["1m"], GOLD.quality]);
  await runGoldMarket(lake.env, { graceMinutes: 5, rebuild: true });
  expect(await held.differences()).toEqual([]);
});

test("the CSV export writes the hour a silver snapshot added before its journal entry exists", async () => {
  const config = {
    dir: exportDir,
    timeZone: "UTC",
    pattern: "KRAKEN/{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv",
    graceMinutes: 5,
  };
  await commitBronze(lake.commitLog, trades(10, 30));
  await runSilverTrades(lake.env);
  expect((await runCsvExport(lake.env, config)).written).toBe(1);
  await silverWithoutJournalEntry(trades(12, 10));
  const second = await runCsvExport(lake.env, config);
  expect(second.written).toBe(1);
  expect(existsSync(join(exportDir, "KRAKEN/12_01_05_24_BTC_USD.csv"))).toBe(true);
  expect((await runCsvExport(lake.env, config)).considered).toBe(0);
});
