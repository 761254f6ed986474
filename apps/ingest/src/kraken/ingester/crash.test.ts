/**
 * Crash safety, with the real broker and the real CLI: `bun run ingest` runs as a child process against
 * the simulator (Kraken's clock, sweeps cut by pages, giant sweeps), is killed with SIGKILL mid-run,
 * restarted on the same state directory, and finally stopped with SIGTERM. Kafka must hold every
 * trade_id the simulator emitted except ids the ingester logged as gaps, which must be ids REST cannot
 * reach (duplicates are expected after a crash and allowed: the lake dedups on trade_id), and the
 * graceful stop must leave cursors at the last trade. CI size: 15,000 trades, one kill; with
 * TRIBUTARY_SOAK=1, 200,000 trades and three kills.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { TradeMessage } from "@tributary/shared/contracts/trade";
import { createKafka } from "@tributary/shared/kafka";
import { uniqueName } from "@tributary/shared/testing/names";
import type { Subprocess } from "bun";
import { readTopic } from "../../producer/topic-reader.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import {
  compareWithTruth,
  describeComparison,
  idsOfRanges,
  restUnreachable,
} from "../../simulator/truth-check.ts";
import { cursorDir, cursorFileName, type TradeCursor } from "../cursor-store.ts";

const REPO = resolve(import.meta.dir, "../../../../..");
const CLI = join(REPO, "apps/ingest/src/cli.ts");
const config = loadConfig();
const SOAK = process.env.TRIBUTARY_SOAK === "1";
const TOTAL = SOAK ? 200_000 : 15_000;
const KILLS = SOAK ? 3 : 1;
const TEST_TIMEOUT_MS = SOAK ? 1_800_000 : 180_000;
let stateDir: string;

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-crash-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function readCursor(symbol: string): TradeCursor | undefined {
  const file = join(cursorDir(stateDir), cursorFileName(symbol));
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as TradeCursor) : undefined;
}

/** trade_ids the ingester logged as gaps (JSON log lines with fromId/toId), per symbol. */
function gapsLogged(log: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as { symbol?: string; fromId?: number; toId?: number };
    if (!e.symbol || e.fromId === undefined || e.toId === undefined) continue;
    const ids = out.get(e.symbol) ?? new Set<number>();
    for (const id of idsOfRanges([[e.fromId, e.toId]])) ids.add(id);
    out.set(e.symbol, ids);
  }
  return out;
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test(
  "kill -9 mid-run and a restart lose no trade_id; SIGTERM flushes and saves the cursor",
  async () => {
    const sim = await KrakenSimulator.start({
      seed: 3,
      tradesPerSecond: SOAK ? 4_000 : 1_000,
      totalTrades: TOTAL,
      heartbeatMs: 200,
      autoStart: false,
      faults: { wsDropEveryTrades: 4_000, restFailureRate: 0.1 },
      sweeps: { giantProbability: 1 / 2_000 },
    });
    const topics = { trades: uniqueName("crash_trades"), ticker: uniqueName("crash_ticker") };
    const symbols = sim.symbols();
    const spawnIngester = (): Subprocess => {
      const child = Bun.spawn(
        [
          process.execPath,
          CLI,
          "--rest-url",
          sim.restUrl,
          "--ws-url",
          sim.wsUrl,
          "--symbols",
          symbols.join(","),
          "--since",
          "0",
          "--state-dir",
          stateDir,
          "--trades-topic",
          topics.trades,
          "--ticker-topic",
          topics.ticker,
          "--metrics-port",
          "off",
          "--ws-stale-ms",
          "1000",
        ],
        {
          cwd: REPO,
          env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(","), LOG_LEVEL: "warn" },
          stdout: "ignore",
          stderr: "pipe",
        },
      );
      return child;
    };
    let child: Subprocess | undefined;
    try {
      child = spawnIngester();
      // Open the market once the ingester is connected, so a slow start cannot let it run out first.
      await waitFor("the ingester's WebSocket", () => sim.snapshotStats().wsConnectionsOpened > 0, 30_000);
      sim.startMarket();
      // Let it deliver for a while, then pull the plug mid-market with unacknowledged trades in flight.
      await waitFor(
        "every symbol's first cursor",
        () => symbols.every((s) => (readCursor(s)?.lastTradeId ?? 0) > 0),
        30_000,
      );
      const killedLogs: string[] = [];
      const emittedAtKills: number[] = [];
      const cursorsAtKills: number[][] = [];
      for (let k = 1; k <= KILLS; k++) {
        const at = (TOTAL * k) / (KILLS + 2);
        await waitFor(
          `${k}/${KILLS + 2} of the market`,
          () => sim.snapshotStats().totalTrades >= at,
          120_000,
        );
        const beforeKill = sim.snapshotStats().totalTrades;
        // Trades must keep happening while the ingester is down (else this proves only a restart).
        expect(beforeKill).toBeLessThan(TOTAL * 0.8);
        child.kill("SIGKILL");
        expect(await child.exited).not.toBe(0);
        killedLogs.push(await new Response(child.stderr as ReadableStream).text());
        emittedAtKills.push(beforeKill);
        cursorsAtKills.push(symbols.map((s) => readCursor(s)?.lastTradeId ?? 0));
        await Bun.sleep(1_000); // trades keep happening while the ingester is down
        if (k < KILLS) child = spawnIngester();
      }

      child = spawnIngester();
      await sim.whenFinished();
      const lastIds = new Map(symbols.map((s) => [s, sim.truthIds(s).at(-1) ?? 0]));
      await waitFor(
        "cursors at the last trade",
        () => symbols.every((s) => (readCursor(s)?.lastTradeId ?? 0) >= (lastIds.get(s) ?? 0)),
        SOAK ? 600_000 : 60_000,
      );
      child.kill("SIGTERM");
      const code = await child.exited;
      const stderr = await new Response(child.stderr as ReadableStream).text();
      expect(code, stderr.slice(-2000)).toBe(0);
      for (const s of symbols) expect(readCursor(s)?.lastTradeId).toBe(lastIds.get(s));
      const gaps = gapsLogged([...killedLogs, stderr].join("\n"));

      const records = await readTopic(
        createKafka(config.kafka, "crash-check"),
        topics.trades,
        uniqueName("crash_reader"),
      );
      const delivered = records.map((r) => JSON.parse(r.value?.toString() ?? "null") as TradeMessage);
      const truth = new Map(symbols.map((s) => [s, sim.truth(s)]));
      const comparison = compareWithTruth(delivered, truth, gaps);
      // The tape holds a sweep of more fills at one instant than a REST page: the case that looped.
      const unreachableIds = [...truth.values()].reduce((n, t) => n + restUnreachable(t, 1000).length, 0);
      expect(unreachableIds).toBeGreaterThan(0);
      for (const [symbol, ids] of gaps) {
        const unreachable = new Set(restUnreachable(truth.get(symbol) ?? [], 1000));
        for (const id of ids) expect(unreachable.has(id)).toBe(true);
      }
      console.log(
        `crash: ${JSON.stringify({ trades: comparison.totalTruth, kills: KILLS, emitted_at_kills: emittedAtKills, cursors_at_kills: cursorsAtKills, kafka_records: records.length, unreachable_by_rest: unreachableIds, duplicates: comparison.totalDuplicates, missing: comparison.totalMissing, reported_gaps: [...gaps.values()].reduce((n, x) => n + x.size, 0) })}`,
      );
      if (!comparison.ok) throw new Error(describeComparison(comparison));
      expect(comparison.totalMissing).toBe(0);
      expect(comparison.totalTruth).toBe(TOTAL);
    } finally {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      await sim.stop();
    }
  },
  TEST_TIMEOUT_MS,
);
