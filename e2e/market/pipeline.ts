/**
 * The market pipeline wired end to end for tests: a private run directory and config, simulator ground truth, ingester options against
 * the simulator, Kafka end offsets, bronze coverage of those offsets, one pass of the market layers
 * (silver trades, silver ticker, gold), and canonical dumps of a lake layer to compare two runs.
 */

import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IngestOptions } from "@tributary/ingest/kraken/ingester/options";
import { type SimulatorEndpoints, simulatorIngestOptions } from "@tributary/ingest/kraken/ingester/testing";
import type { IngestTopics } from "@tributary/ingest/producer/topics";
import type { SimulatorStats, TruthTrade } from "@tributary/ingest/simulator/server";
import { type GoldRunResult, runGoldMarket } from "@tributary/lake/gold/market/market";
import type { ReferenceTrade } from "@tributary/lake/gold/market/reference";
import { sqlString } from "@tributary/lake/runtime/duckdb";
import { type LakeJobEnv, openJobDuck } from "@tributary/lake/runtime/env";
import { LakeReader } from "@tributary/lake/runtime/lake-reader";
import type { SilverRunResult } from "@tributary/lake/silver/silver-run";
import { runSilverTicker, type SilverTickerCounts } from "@tributary/lake/silver/ticker";
import { runSilverTrades, type SilverTradesCounts } from "@tributary/lake/silver/trades";
import { type Config, loadConfig } from "@tributary/shared/config";
import { dlqTopic } from "@tributary/shared/contracts/topics";
import type { CommitLog } from "@tributary/shared/lake/commit-log";
import { uniqueName } from "@tributary/shared/testing/names";
import { parseRfc3339Micros } from "@tributary/shared/time";
import type { Admin } from "kafkajs";

/** Every topic the ingester creates for `topics`: the two main topics and their dead-letter topics. */
export function ingestTopicNames(topics: IngestTopics): string[] {
  return [topics.trades, topics.ticker, dlqTopic(topics.trades), dlqTopic(topics.ticker)];
}

/** A run's private directory (`state/` and the lake inside) and the config pointing at it, with its own lake consumer group. */
export function privateRun(name: string): {
  readonly base: string;
  readonly stateDir: string;
  readonly config: Config;
} {
  const base = mkdtempSync(join(tmpdir(), `tributary-${name}-`));
  const stateDir = join(base, "state");
  mkdirSync(stateDir, { recursive: true });
  const config = loadConfig({
    ...process.env,
    TRIBUTARY_STATE_DIR: stateDir,
    LAKE_URI: join(base, "lake"),
    LAKE_CONSUMER_GROUP: uniqueName(`${name.replaceAll("-", "_")}_lake`),
    LAKE_FLUSH_MS: "500",
  });
  return { base, stateDir, config };
}

/** `http://127.0.0.1:<port>` from the simulator's REST base (`…/0`). */
export function simulatorBase(restUrl: string): string {
  return new URL(restUrl).origin;
}

/** The simulator's control-plane statistics (`GET /_sim/stats`). */
export async function simulatorStats(base: string): Promise<SimulatorStats> {
  const res = await fetch(`${base}/_sim/stats`);
  if (!res.ok) throw new Error(`simulator stats: HTTP ${res.status}`);
  return (await res.json()) as SimulatorStats;
}

/** Every trade the simulator emitted, per symbol in trade_id order (`GET /_sim/truth?symbol=`). */
export async function fetchTruth(
  base: string,
  symbols: readonly string[],
): Promise<Map<string, TruthTrade[]>> {
  const out = new Map<string, TruthTrade[]>();
  for (const symbol of symbols) {
    const res = await fetch(`${base}/_sim/truth?symbol=${encodeURIComponent(symbol)}`);
    if (!res.ok) throw new Error(`simulator truth for ${symbol}: HTTP ${res.status}`);
    const text = await res.text();
    const trades: TruthTrade[] = [];
    for (const line of text.split("\n")) if (line !== "") trades.push(JSON.parse(line) as TruthTrade);
    out.set(symbol, trades);
  }
  return out;
}

/** A truth trade (exact decimal strings, RFC 3339 µs) in the reference recomputation's form. */
export function referenceTrade(t: TruthTrade): ReferenceTrade {
  return {
    symbol: t.symbol,
    tradeId: BigInt(t.trade_id),
    price: t.price,
    qty: t.qty,
    side: t.side,
    tsMicros: parseRfc3339Micros(t.ts),
  };
}

/** Ingester options for a run against the simulator: quick REST retries, reconnects that leave a gap. */
export function simulatorRunOptions(
  config: Config,
  sim: SimulatorEndpoints,
  topics: IngestTopics,
  run: { readonly stateDir: string; readonly since: string; readonly once: boolean },
): IngestOptions {
  return simulatorIngestOptions(sim, config.kafka, topics, run.stateDir, {
    since: run.since,
    once: run.once,
    // Reconnect after at least 250 ms: more trades pass meanwhile than a 50-trade snapshot holds, so
    // every WebSocket drop leaves a gap that REST must backfill.
    ws: { backoff: { initialMs: 300, maxMs: 1_000 } },
    rest: { backoff: { initialMs: 20, maxMs: 300 }, rateLimitDelayMs: 50, maxAttempts: 20 },
  });
}

/** One Kafka partition's offsets: records live at `low … high - 1`. */
export interface PartitionEnd {
  readonly partition: number;
  readonly low: bigint;
  readonly high: bigint;
}

export async function topicEnds(admin: Admin, topic: string): Promise<PartitionEnd[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
    .sort((a, b) => a.partition - b.partition);
}

export function recordCount(ends: readonly PartitionEnd[]): number {
  return ends.reduce((n, e) => n + Number(e.high - e.low), 0);
}

/** Whether the bronze commit log of `dataset` reaches the end offset of every partition of `topic`. */
export async function bronzeCovers(
  commitLog: CommitLog,
  dataset: string,
  topic: string,
  ends: readonly PartitionEnd[],
): Promise<boolean> {
  for (const e of ends) {
    if (e.high === 0n) continue;
    const next = await commitLog.resumeOffset({ layer: "bronze", name: dataset }, topic, e.partition);
    if (next < e.high) return false;
  }
  return true;
}

export interface MarketLayersRun {
  readonly trades: SilverRunResult<SilverTradesCounts>;
  readonly ticker: SilverRunResult<SilverTickerCounts>;
  readonly gold: GoldRunResult;
}

/** One pass of the market layers, in the scheduler's order: both silver jobs, then gold. */
export async function runMarketLayers(
  env: LakeJobEnv,
  opts: { readonly graceMinutes: number; readonly rebuild?: boolean },
): Promise<MarketLayersRun> {
  const rebuild = opts.rebuild === true;
  const trades = await runSilverTrades(env, { rebuild });
  const ticker = await runSilverTicker(env, { rebuild });
  const gold = await runGoldMarket(env, { graceMinutes: opts.graceMinutes, rebuild });
  return { trades, ticker, gold };
}

/** Lake key of each Parquet file of a layer → its rows as JSON lines, in a total order (ORDER BY ALL). */
export type LayerDump = ReadonlyMap<string, readonly string[]>;

export async function dumpLayer(env: LakeJobEnv, layer: "bronze" | "silver" | "gold"): Promise<LayerDump> {
  using reader = new LakeReader(env.store, env.scratchDir);
  using duck = await openJobDuck(env);
  const out = new Map<string, string[]>();
  const keys = (await reader.parquetKeys(`${layer}/`)).sort();
  const paths = await reader.paths(keys);
  for (let i = 0; i < keys.length; i++) {
    const rows = await duck.rows(
      `SELECT * FROM read_parquet(${sqlString(paths[i] as string)}, hive_partitioning = false) ORDER BY ALL`,
    );
    out.set(
      keys[i] as string,
      rows.map((r) => JSON.stringify(r)),
    );
  }
  return out;
}

/** Rows per dataset (`gold/candles_1m/…` → `candles_1m`). */
export function datasetRows(dump: LayerDump): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, rows] of dump) {
    const dataset = key.split("/")[1] ?? key;
    out.set(dataset, (out.get(dataset) ?? 0) + rows.length);
  }
  return out;
}

/** Where two dumps disagree: files only in one, and the first differing row of each shared file. */
export function diffDumps(a: LayerDump, b: LayerDump, maxProblems = 20): string[] {
  const problems: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (problems.length >= maxProblems) break;
    const ra = a.get(key);
    const rb = b.get(key);
    if (ra === undefined || rb === undefined) {
      problems.push(`${key}: only in the ${ra === undefined ? "second" : "first"} dump`);
      continue;
    }
    if (ra.length !== rb.length) problems.push(`${key}: ${ra.length} rows vs ${rb.length}`);
    const i = ra.findIndex((row, j) => row !== rb[j]);
    if (i >= 0) problems.push(`${key} row ${i}: ${ra[i]} vs ${rb[i] ?? "(none)"}`);
  }
  return problems;
}

/** Rows of a dataset in a layer (0 when it has no file). */
export async function countRows(
  env: LakeJobEnv,
  layer: "bronze" | "silver" | "gold",
  dataset: string,
): Promise<number> {
  using reader = new LakeReader(env.store, env.scratchDir);
  using duck = await openJobDuck(env);
  const keys = await reader.parquetKeys(`${layer}/${dataset}/`);
  if (keys.length === 0) return 0;
  const list = (await reader.paths(keys)).map(sqlString).join(", ");
  const n = await duck.scalar(
    `SELECT count(*)::BIGINT FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true)`,
  );
  return Number(n ?? 0);
}
