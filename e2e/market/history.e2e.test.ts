/**
 * A market with history, end to end: the simulator opens 50 hours back and runs fast until it reaches
 * the present (WebSocket drops on the way), the ingester pages REST from the first trade and streams the
 * rest, the OHLC job fetches Kraken's candles (2 % falsified in one field), the bronze writer lands the
 * three topics, silver and gold run once. Proves, at a two-day span: every symbol's silver covers at least
 * 48 hours; gold (candles up to 1d, daily summary, hourly quality) equals an independent bigint
 * recomputation from the simulator's trades; the reconciliation flags exactly the falsified minutes,
 * with exactly the field that differs, and agrees on every other minute Kraken reports.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type IngesterHandle, startIngester } from "@tributary/ingest/kraken/ingester/ingester";
import { fetchOhlcOnce } from "@tributary/ingest/kraken/ohlc/fetch-ohlc";
import { KrakenSimulator } from "@tributary/ingest/simulator/server";
import { routedDataset } from "@tributary/lake/bronze/datasets";
import { type BronzeWriterHandle, startBronzeWriter } from "@tributary/lake/bronze/writer";
import { runGoldMarket } from "@tributary/lake/gold/market/market";
import { verifyGold } from "@tributary/lake/gold/market/verify";
import { marketJobEnv } from "@tributary/lake/jobs/market";
import { openJobDuck } from "@tributary/lake/runtime/env";
import { runSilverKrakenOhlc } from "@tributary/lake/silver/kraken-ohlc";
import { runSilverTicker } from "@tributary/lake/silver/ticker";
import { runSilverTrades } from "@tributary/lake/silver/trades";
import { loadConfig } from "@tributary/shared/config";
import { createKafka } from "@tributary/shared/kafka";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { BRONZE_DATASETS } from "@tributary/shared/lake/layout";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { bronzeCovers, countRows, referenceTrade, simulatorRunOptions, topicEnds } from "./pipeline.ts";

const HOURS = 50;
/** Nominal trades over the history (sweep sizes are heavy-tailed, so a tape holds somewhat fewer). */
const TRADES = 12_000;
const SEED = 20_251_205;
const MISMATCH_RATE = 0.02;

test(`${HOURS} hours of market through every layer: gold equals the recomputation, the reconciliation flags exactly the falsified candles (seed ${SEED})`, async () => {
  console.log(`seed ${SEED}`);
  const base = mkdtempSync(join(tmpdir(), "tributary-e2e-history-"));
  const config = loadConfig({
    ...process.env,
    LAKE_URI: join(base, "lake"),
    LAKE_CONSUMER_GROUP: uniqueName("e2e_history"),
    LAKE_FLUSH_MS: "500",
  });
  const log = createLogger("e2e.history", "warn");
  const env = marketJobEnv(config, { log, signal: new AbortController().signal });
  const topics = {
    trades: uniqueName("history_trades"),
    ticker: uniqueName("history_ticker"),
    ohlc: uniqueName("history_ohlc"),
  };
  const now = BigInt(Date.now()) * 1_000_000n;
  const sim = await KrakenSimulator.start({
    seed: SEED,
    // TRADES over the history, reached within about ten seconds of wall time.
    tradesPerSecond: TRADES / (HOURS * 3600),
    startNs: now - BigInt(HOURS) * 3_600_000_000_000n,
    speed: (HOURS * 3600) / 10,
    heartbeatMs: 200,
    autoStart: false,
    sweeps: { giantProbability: 0 },
    faults: { wsDropEveryTrades: 3_000, ohlcMismatchRate: MISMATCH_RATE },
  });
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string) => {
    timings[name] = Math.round((performance.now() - t0) / 100) / 10;
  };
  let ingester: IngesterHandle | undefined;
  let writer: BronzeWriterHandle | undefined;
  const admin = createKafka(config.kafka, "e2e-history").admin();
  try {
    await admin.connect();
    const acked = new Map<string, Set<number>>(sim.symbols().map((s) => [s, new Set<number>()]));
    ingester = await startIngester(
      simulatorRunOptions(
        config,
        { restUrl: sim.restUrl, wsUrl: sim.wsUrl, symbols: sim.symbols() },
        topics,
        { stateDir: join(base, "state"), since: "0", once: false },
      ),
      {
        log,
        onTradesAcked: (trades) => {
          for (const t of trades) acked.get(t.message.symbol)?.add(t.message.trade_id);
        },
      },
    );
    sim.startMarket();
    // The market runs until it reaches the present, then stops: the history is complete.
    const caughtUp = Date.now() + 120_000;
    while (sim.clock.nowNs() < BigInt(Date.now() - 1_000) * 1_000_000n && Date.now() < caughtUp)
      await Bun.sleep(100);
    sim.pauseMarket();
    const deadline = Date.now() + 120_000;
    const ackedAll = () => sim.symbols().every((s) => acked.get(s)?.size === sim.truthIds(s).length);
    while (!ackedAll() && Date.now() < deadline) await Bun.sleep(100);
    await ingester.stop();
    mark("ingested_s");
    expect(ackedAll()).toBe(true);
    expect(sim.snapshotStats().faults.wsDrops).toBeGreaterThanOrEqual(2);

    // Kraken's candles, once, after the market reached the present: its last 720 committed minutes.
    const ohlc = await fetchOhlcOnce({
      restUrl: sim.restUrl,
      symbols: sim.symbols(),
      stateDir: join(base, "state"),
      kafka: config.kafka,
      topic: topics.ohlc,
      log,
      signal: new AbortController().signal,
    });
    expect(Object.values(ohlc.candles).every((n) => n >= 700)).toBe(true);

    writer = await startBronzeWriter(config, {
      topics: [topics.trades, topics.ticker, topics.ohlc],
      routes: new Map([
        [topics.trades, routedDataset(topics.trades, BRONZE_DATASETS["kraken.trades"], "kraken")],
        [topics.ticker, routedDataset(topics.ticker, BRONZE_DATASETS["kraken.ticker"], "kraken")],
        [topics.ohlc, routedDataset(topics.ohlc, BRONZE_DATASETS["kraken.ohlc"], "kraken")],
      ]),
      metricsPort: null,
      logger: log,
    });
    const commitLog = new CommitLog(env.store);
    const covered = async () => {
      for (const [topic, dataset] of [
        [topics.trades, BRONZE_DATASETS["kraken.trades"]],
        [topics.ticker, BRONZE_DATASETS["kraken.ticker"]],
        [topics.ohlc, BRONZE_DATASETS["kraken.ohlc"]],
      ] as const) {
        if (!(await bronzeCovers(commitLog, dataset, topic, await topicEnds(admin, topic)))) return false;
      }
      return true;
    };
    const bronzeDeadline = Date.now() + 120_000;
    while (!(await covered()) && Date.now() < bronzeDeadline) await Bun.sleep(250);
    expect(await covered()).toBe(true);
    await writer.stop();
    mark("bronze_s");

    await runSilverTrades(env);
    await runSilverTicker(env);
    const silverOhlc = await runSilverKrakenOhlc(env);
    expect(silverOhlc.quarantinedRows).toBe(0);
    await runGoldMarket(env, { graceMinutes: config.export.graceMinutes });
    mark("silver_gold_s");

    // Two days of every symbol in silver.
    using duck = await openJobDuck(env);
    const spans = await duck.rows(
      `SELECT symbol, (epoch(max(ts)) - epoch(min(ts))) / 3600 AS hours, count(*)::BIGINT AS n
       FROM read_parquet('${join(base, "lake", "silver", "kraken_trades")}/**/*.parquet', hive_partitioning = false)
       GROUP BY symbol ORDER BY symbol`,
    );
    expect(spans.map((r) => r.symbol)).toEqual([...sim.symbols()].sort());
    for (const r of spans) expect(Number(r.hours)).toBeGreaterThanOrEqual(48);

    // Gold against the independent recomputation from the simulator's trades, across days and hours.
    const truth = sim.symbols().flatMap((s) => sim.truth(s).map(referenceTrade));
    expect(truth.length).toBeGreaterThan(TRADES / 2);
    const verified = await verifyGold(env, truth, { graceMinutes: config.export.graceMinutes });
    mark("verified_s");
    expect(verified.problems).toEqual([]);
    expect(verified.checked.candles_1d ?? 0).toBeGreaterThanOrEqual(3 * 3);
    expect(verified.checked.data_quality_hourly ?? 0).toBeGreaterThan(3 * 48);

    // The reconciliation: exactly the falsified minutes disagree, in exactly the falsified field.
    const rows = await duck.rows(
      `SELECT symbol, epoch(minute)::BIGINT AS t, status, mismatched_fields AS f, kraken_trade_count::BIGINT AS n
       FROM read_parquet('${join(base, "lake", "gold", "candle_reconciliation")}/**/*.parquet', hive_partitioning = false)`,
    );
    expect(rows.length).toBeGreaterThan(3 * 700);
    let flagged = 0;
    for (const r of rows) {
      const fault = Number(r.n) > 0 ? sim.ohlcFault(String(r.symbol), BigInt(Number(r.t))) : undefined;
      const got = `${r.symbol} ${r.t}: ${r.status} ${r.f}`;
      expect(got).toBe(`${r.symbol} ${r.t}: ${fault ? `disagree ${fault}` : "agree "}`);
      if (fault) flagged++;
    }
    expect(flagged).toBeGreaterThan(10);
    const checked = await countRows(env, "gold", "data_quality_hourly");
    expect(checked).toBeGreaterThan(0);
    console.log(
      `history: ${JSON.stringify({ trades: truth.length, spans: spans.map((r) => [r.symbol, Math.round(Number(r.hours) * 10) / 10]), reconciled_minutes: rows.length, flagged, checked: verified.checked, timings })}`,
    );
  } finally {
    await ingester?.stop();
    await writer?.stop();
    await admin.disconnect();
    await sim.stop();
    rmSync(base, { recursive: true, force: true });
  }
}, 400_000);
