/**
 * PostgreSQL → CDC source → Kafka → bronze writer → CDC silver → Tesouro gold, on the real Tesouro
 * sample: silver's current state equals the source table row for row, and 15/08/2024 stays
 * 2024-08-15 in bronze, silver and gold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The CDC source and the Tesouro loader live in apps/ingest; this test drives the whole pipeline.
import { openSqlClient } from "@tributary/ingest/cdc/catalog";
import { CdcSource } from "@tributary/ingest/cdc/source";
import { dropCapture, waitConfirmed } from "@tributary/ingest/cdc/testing/support";
import { createTesouroTable } from "@tributary/ingest/tesouro/ddl";
import { DEFAULT_SAMPLE_FILE, readTesouroFile, upsertTesouroRows } from "@tributary/ingest/tesouro/loader";
import { groupByBaseDate, replayTesouroFeed } from "@tributary/ingest/tesouro/workload";
import { routedDataset } from "@tributary/lake/bronze/datasets";
import { startBronzeWriter } from "@tributary/lake/bronze/writer";
import { runTesouroGold } from "@tributary/lake/gold/tesouro/tesouro";
import { openDuckSession, sqlString } from "@tributary/lake/runtime/duckdb";
import type { LakeJobEnv } from "@tributary/lake/runtime/env";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { cdcDatasetName, tesouroTable } from "@tributary/lake/silver/cdc/tables";
import { type Config, loadConfig } from "@tributary/shared/config";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "tributary-cdc-lake-"));
const schema = uniqueName("cdclake");
const names = { prefix: uniqueName("cdcl"), slot: uniqueName("slot"), publication: uniqueName("pub") };
const table = tesouroTable(schema);
const config: Config = {
  ...base,
  lake: { ...base.lake, uri: join(scratch, "lake"), flushMs: 200, consumerGroup: uniqueName("group") },
};
const log = createLogger("cdc-lake-test", "warn");
const store = createLakeStore(config);
const env: LakeJobEnv = { store, commitLog: new CommitLog(store), log, scratchDir: join(scratch, "work") };
const sql = await openSqlClient(config.postgres.url, "cdc-lake-test");

beforeAll(async () => {
  await createTesouroTable(sql, table);
});

afterAll(async () => {
  await dropCapture(sql, { slot: names.slot, publication: names.publication, schema });
  await sql.end();
  rmSync(scratch, { recursive: true, force: true });
});

/** Source rows as text, the way both sides are compared. */
async function sourceRows(): Promise<string[]> {
  const res = await sql.query(
    `SELECT concat_ws('|', bond_type, maturity_date::text, base_date::text, buy_rate::text, sell_rate::text,
            buy_price::text, sell_price::text, base_price::text) AS r
     FROM ${schema}.tesouro_prices ORDER BY 1`,
  );
  return res.rows.map((r) => (r as { r: string }).r);
}

describe("CDC into the lake", () => {
  test("silver equals the source table row for row, and gold answers the bond questions with dates intact", async () => {
    const { rows } = readTesouroFile(DEFAULT_SAMPLE_FILE);
    const days = groupByBaseDate(rows);
    const aug = days.findIndex(([d]) => d === "2024-08-15");
    // Before CDC starts: the week of 15/08/2024 (snapshot). After: the next days as a live feed.
    for (const [, day] of days.slice(aug - 3, aug + 1)) await upsertTesouroRows(sql, table, day);
    const source = new CdcSource({
      ...names,
      pgUrl: config.postgres.url,
      kafka: createKafka(config.kafka, "cdc-lake-test"),
      kafkaConfig: config.kafka,
      tables: [`${schema}.tesouro_prices`],
      stateDir: join(scratch, "state"),
      log,
    });
    const abort = new AbortController();
    const running = source.run(abort.signal);
    const topic = cdcTopic(names.prefix, schema, "tesouro_prices");
    try {
      for (let i = 0; i < 400 && source.metrics.state !== "streaming"; i++) await Bun.sleep(25);
      expect(source.metrics.state).toBe("streaming");
      const feed = await replayTesouroFeed({
        client: sql,
        table,
        rows: days.slice(aug + 1, aug + 6).flatMap(([, d]) => d),
        correctionRate: 0.1,
        deleteRate: 0.05,
        seed: 11,
      });
      expect(feed.corrected + feed.deleted).toBeGreaterThan(0);
      // A correction that changes the key, and a truncate-free delete of a whole bond.
      await sql.query(
        `UPDATE ${schema}.tesouro_prices SET maturity_date = '2099-12-31' WHERE ctid =
           (SELECT ctid FROM ${schema}.tesouro_prices WHERE bond_type = 'Tesouro Selic' AND base_date = '2024-08-13' LIMIT 1)`,
      );
      await sql.query(
        `DELETE FROM ${schema}.tesouro_prices WHERE bond_type = 'Tesouro IGPM+ com Juros Semestrais'`,
      );
      const target = await waitConfirmed(sql, source.metrics);
      expect(source.metrics.confirmedLsn).toBeGreaterThanOrEqual(target);
    } finally {
      abort.abort();
      await running;
    }

    // Bronze: the writer lands every record of the topic exactly once.
    const admin = createKafka(config.kafka, "cdc-lake-test").admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const writer = await startBronzeWriter(config, {
      topics: [topic],
      routes: new Map([[topic, routedDataset(topic, cdcDatasetName(table), "cdc")]]),
      metricsPort: null,
      logger: log,
    });
    try {
      const ds = { layer: "bronze" as const, name: cdcDatasetName(table) };
      for (let i = 0; i < 240; i++) {
        let done = true;
        for (const o of offsets) {
          if ((await env.commitLog.resumeOffset(ds, topic, o.partition)) < BigInt(o.high)) done = false;
        }
        if (done) break;
        await Bun.sleep(250);
      }
    } finally {
      await writer.stop();
    }

    // Silver: current state equals the source, row for row; the history keeps every version.
    const silver = await runCdcSilver(env, table);
    expect(silver.invalid).toBe(0);
    using duck = await openDuckSession();
    const current = await duck.rows(
      `SELECT concat_ws('|', bond_type, maturity_date::VARCHAR, base_date::VARCHAR, buy_rate::VARCHAR, sell_rate::VARCHAR,
              buy_price::VARCHAR, sell_price::VARCHAR, base_price::VARCHAR) AS r
       FROM read_parquet(${sqlString(store.url(silver.currentGlob))}) ORDER BY 1`,
    );
    const expected = await sourceRows();
    expect(current.map((r) => r.r)).toEqual(expected);
    expect(silver.rows).toBe(expected.length);

    const types = await duck.rows(
      `DESCRIBE SELECT * FROM read_parquet(${sqlString(store.url(silver.currentGlob))})`,
    );
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
      maturity_date: "DATE",
      base_date: "DATE",
      buy_price: "DECIMAL(18,2)",
      buy_rate: "DECIMAL(9,2)",
    });
    // 15/08/2024 is 2024-08-15 in bronze (the raw envelope), silver and gold.
    const bronzeDates = await duck.scalar(
      `SELECT count(*) FROM read_parquet(${sqlString(`${store.url(`bronze/${cdcDatasetName(table)}`)}/**/*.parquet`)})
       WHERE json_extract_string(decode(kafka_value), '$.after.base_date') = '2024-08-15Z'`,
    );
    expect(Number(bronzeDates)).toBeGreaterThan(50);
    const aug15 = await duck.scalar(
      `SELECT count(*) FROM read_parquet(${sqlString(store.url(silver.currentGlob))}) WHERE base_date = DATE '2024-08-15'`,
    );
    const pgAug15 = await sql.query(
      `SELECT count(*)::int AS n FROM ${schema}.tesouro_prices WHERE base_date = DATE '2024-08-15'`,
    );
    expect(Number(aug15)).toBe((pgAug15.rows[0] as { n: number }).n);
    const history = await duck.rows(
      `SELECT _op, count(*) AS n, count(valid_to) AS closed FROM read_parquet(${sqlString(store.url(silver.historyGlob))}) GROUP BY ALL ORDER BY 1`,
    );
    const versions = Object.fromEntries(history.map((h) => [h._op, Number(h.n)]));
    expect(versions.r).toBeGreaterThan(0);
    expect(versions.u).toBeGreaterThan(0); // corrections
    expect(history.reduce((n, h) => n + Number(h.n), 0)).toBeGreaterThan(silver.rows);

    // Gold.
    const gold = await runTesouroGold(env, table);
    expect(gold.rows.tesouro_yield_curve).toBe(expected.length);
    expect(gold.rows.tesouro_spreads).toBe(expected.length);
    const curve = await duck.rows(
      `SELECT base_date::VARCHAR AS base_date, maturity_date::VARCHAR AS maturity_date, days_to_maturity, years_to_maturity::VARCHAR AS years, buy_rate::VARCHAR AS buy_rate
       FROM read_parquet(${sqlString(store.url("gold/tesouro_yield_curve/part-0.parquet"))})
       WHERE bond_type = 'Tesouro IPCA+' AND base_date = DATE '2024-08-15' ORDER BY maturity_date`,
    );
    const pgCurve = await sql.query(
      `SELECT maturity_date::text, buy_rate::text, maturity_date - DATE '2024-08-15' AS days FROM ${schema}.tesouro_prices
       WHERE bond_type = 'Tesouro IPCA+' AND base_date = DATE '2024-08-15' ORDER BY maturity_date`,
    );
    expect(curve.map((c) => [c.maturity_date, c.buy_rate])).toEqual(
      pgCurve.rows.map((r) => [r.maturity_date, r.buy_rate]),
    );
    expect(curve.every((c) => c.base_date === "2024-08-15")).toBe(true);
    expect(curve.map((c) => Number(c.days_to_maturity))).toEqual(pgCurve.rows.map((r) => r.days));
    const spread = await duck.rows(
      `SELECT rate_spread_pp::VARCHAR AS pp, rate_spread_bps::VARCHAR AS bps, price_spread::VARCHAR AS ps, buy_rate::VARCHAR AS b, sell_rate::VARCHAR AS s,
              buy_price::VARCHAR AS bp, sell_price::VARCHAR AS sp
       FROM read_parquet(${sqlString(store.url("gold/tesouro_spreads/part-0.parquet"))}) WHERE base_date = DATE '2024-08-15' LIMIT 5`,
    );
    for (const s of spread) {
      const cents = (t: unknown): number => Math.round(Number(t) * 100);
      expect(cents(s.pp)).toBe(cents(s.s) - cents(s.b));
      expect(Number(s.bps)).toBe(cents(s.s) - cents(s.b));
      expect(cents(s.ps)).toBe(cents(s.bp) - cents(s.sp));
    }
    const change = await duck.rows(
      `SELECT prev_base_date::VARCHAR AS prev, buy_price_change::VARCHAR AS d, buy_price::VARCHAR AS p FROM read_parquet(${sqlString(store.url("gold/tesouro_daily_change/part-0.parquet"))})
       WHERE bond_type = 'Tesouro Prefixado' AND base_date = DATE '2024-08-15' ORDER BY maturity_date LIMIT 1`,
    );
    expect(change[0]?.prev).toBe("2024-08-14");
    const pgChange = await sql.query(
      `SELECT (a.buy_price - b.buy_price)::text AS d FROM ${schema}.tesouro_prices a JOIN ${schema}.tesouro_prices b USING (bond_type, maturity_date)
       WHERE a.bond_type = 'Tesouro Prefixado' AND a.base_date = '2024-08-15' AND b.base_date = '2024-08-14' ORDER BY maturity_date LIMIT 1`,
    );
    expect(change[0]?.d).toBe((pgChange.rows[0] as { d: string }).d);
    const latest = await duck.rows(
      `SELECT bond_type, max(base_date)::VARCHAR AS d, count(*) AS n FROM read_parquet(${sqlString(store.url("gold/tesouro_latest_curve/part-0.parquet"))}) GROUP BY ALL`,
    );
    const pgLatest = await sql.query(
      `SELECT bond_type, max(base_date)::text AS d FROM ${schema}.tesouro_prices GROUP BY bond_type`,
    );
    expect(Object.fromEntries(latest.map((l) => [l.bond_type, l.d]))).toEqual(
      Object.fromEntries(pgLatest.rows.map((r) => [r.bond_type, r.d])),
    );
    expect(latest.some((l) => l.bond_type === "Tesouro IGPM+ com Juros Semestrais")).toBe(false); // deleted at the source

    // Re-running silver with nothing new in bronze changes nothing.
    const again = await runCdcSilver(env, table);
    expect([again.rows, again.events, again.filesWritten]).toEqual([silver.rows, 0, 0]);
  }, 240_000);
});
