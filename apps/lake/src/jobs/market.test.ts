import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import type { JobContext } from "@tributary/shared/scheduler/job";
import { validateJobs } from "@tributary/shared/scheduler/registry";
import { commitBronze, tradeJson } from "../testing/bronze-fixture.ts";
import { MARKET_MAINTENANCE_JOB, marketJobs } from "./market.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  dir = mkdtempSync(join(tmpdir(), "tributary-market-jobs-"));
  return loadConfig(
    { LAKE_URI: join(dir, "lake"), TRIBUTARY_STATE_DIR: join(dir, "state"), EXPORT_DIR: join(dir, "export") },
    dir,
  );
}

function ctx(): JobContext {
  return {
    signal: new AbortController().signal,
    scheduledFor: new Date(),
    log: createLogger("test", "error"),
    progress: () => {},
  };
}

describe("market jobs", () => {
  test("the definitions are valid for the scheduler: names, croner patterns, gold after silver, the book's gold after the book's silver", () => {
    const jobs = marketJobs(setup());
    expect(() => validateJobs(jobs)).not.toThrow();
    expect(jobs.map((j) => j.name)).toEqual([
      "silver.trades",
      "silver.ticker",
      "silver.kraken_ohlc",
      "silver.book",
      "gold.market",
      "gold.book",
      "export.csv",
      MARKET_MAINTENANCE_JOB,
    ]);
    expect(jobs.find((j) => j.name === "gold.market")?.after).toEqual([
      "silver.trades",
      "silver.ticker",
      "silver.kraken_ohlc",
    ]);
    expect(jobs.find((j) => j.name === "gold.book")?.after).toEqual(["silver.book"]);
    // Hourly export at minute grace + 1 (default grace 5 minutes).
    expect(jobs.find((j) => j.name === "export.csv")?.pattern).toBe("0 6 * * * *");
  });

  test("running the jobs in order carries trades from bronze to gold and the CSV file", async () => {
    const config = setup();
    const store = createLakeStore(config);
    await commitBronze(new CommitLog(store), [
      {
        partition: 0,
        offset: 0,
        key: "BTC/USD",
        value: tradeJson({ trade_id: 9, ts: "2022-04-11T14:03:07.123456Z" }),
        ingestedAt: 1649685787223456n,
      },
    ]);
    const results: Record<string, unknown> = {};
    for (const job of marketJobs(config)) results[job.name] = await job.run(ctx());
    expect(results["silver.trades"]).toMatchObject({ rows: 1 });
    expect(results["gold.market"]).toMatchObject({ rows: 1 });
    expect(results["export.csv"]).toMatchObject({ rows: 1 });
    expect(readdirSync(join(config.export.dir, "KRAKEN"))).toEqual(["14_11_04_22_BTC_USD.csv"]);
    expect(await store.exists("gold/candles_1m/pair=BTC_USD/2022-04-11.parquet")).toBe(true);
  });
});
