/**
 * The market layers on an S3 lake (the local stack's S3 server): silver, gold and the CSV export read
 * and publish through LakeStore only (no DuckDB httpfs), and give exactly what a local lake gives.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore, type LakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runCsvExport } from "../../export/csv-export.ts";
import { openDuckSession, sqlStringList } from "../../runtime/duckdb.ts";
import type { LakeJobEnv } from "../../runtime/env.ts";
import { LakeReader } from "../../runtime/lake-reader.ts";
import { runSilverTrades } from "../../silver/trades.ts";
import { type BronzeRecord, commitBronze, tradeJson } from "../../testing/bronze-fixture.ts";
import { runGoldMarket } from "./market.ts";

const config = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "tributary-market-s3-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function envFor(store: LakeStore, name: string): LakeJobEnv {
  return {
    store,
    commitLog: new CommitLog(store),
    log: createLogger("test", "error"),
    scratchDir: join(scratch, name),
    now: () => parseRfc3339Micros("2024-03-11T00:00:00Z"),
  };
}

const records: BronzeRecord[] = [];
for (let i = 0; i < 40; i++) {
  const id = 500 + (i % 35); // five duplicates
  const ts = `2024-03-10T${String(10 + (id % 3)).padStart(2, "0")}:${String(id % 60).padStart(2, "0")}:00.000001Z`;
  records.push({
    partition: 0,
    offset: i,
    key: "BTC/USD",
    value: i === 7 ? "not json" : tradeJson({ trade_id: id, ts, price: `${100 + (id % 7)}.5`, qty: "0.25" }),
    ingestedAt: parseRfc3339Micros(ts) + 1_000_000n,
  });
}

async function goldRows(env: LakeJobEnv): Promise<unknown> {
  using reader = new LakeReader(env.store, env.scratchDir);
  using duck = await openDuckSession();
  const out: Record<string, unknown> = {};
  for (const ds of ["candles_1m", "candles_1h", "candles_1d", "daily_summary", "data_quality_hourly"]) {
    const paths = await reader.paths(await reader.parquetKeys(`gold/${ds}/`));
    out[ds] = await duck.rows(
      `SELECT * FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = false) ORDER BY ALL`,
    );
  }
  return out;
}

describe("market layers on S3", () => {
  test("silver, gold and the CSV export give on S3 exactly what they give on local disk", async () => {
    const s3 = createLakeStore({
      lake: { ...config.lake, uri: `s3://${config.s3.bucket}/${uniqueName("market")}` },
      s3: config.s3,
    });
    const local = createLakeStore({
      lake: { ...config.lake, uri: join(scratch, "local-lake") },
      s3: config.s3,
    });
    const results = [];
    for (const [name, store] of [
      ["s3", s3],
      ["local", local],
    ] as const) {
      const env = envFor(store, name);
      await commitBronze(env.commitLog, records.slice(0, 25));
      await runSilverTrades(env);
      await commitBronze(env.commitLog, records.slice(25));
      const silver = await runSilverTrades(env);
      expect(silver.bronzeRows).toBe(15);
      await runGoldMarket(env, { graceMinutes: 5 });
      const exportDir = join(scratch, `export-${name}`);
      const csv = await runCsvExport(env, {
        dir: exportDir,
        timeZone: "UTC",
        pattern: "KRAKEN/{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv",
        graceMinutes: 5,
      });
      expect(csv.written).toBe(3);
      results.push({
        gold: await goldRows(env),
        csv: readFileSync(join(exportDir, "KRAKEN", "11_10_03_24_BTC_USD.csv"), "utf8"),
      });
    }
    expect(results[0]).toEqual(results[1] as (typeof results)[0]);
    expect(
      await s3.exists("silver/kraken_trades/year=2024/month=3/day=10/hour=11/pair=BTC_USD/part-0.parquet"),
    ).toBe(true);
  }, 120_000);
});
