/**
 * The OHLC job with the real broker: Kraken's recorded 721-row answer (fixture mode) becomes exactly
 * its 720 committed candles in `kraken.ohlc`; on the synthetic market the candles equal an independent
 * recomputation from the simulator's trades, and a second fetch adds only newer minutes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { OhlcMessage } from "@tributary/shared/contracts/ohlc";
import { createKafka } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { uniqueName } from "@tributary/shared/testing/names";
import { readTopic } from "../../producer/topic-reader.ts";
import { DEFAULT_FIXTURES_DIR } from "../../simulator/fixtures.ts";
import { KrakenSimulator } from "../../simulator/server.ts";
import { fetchOhlcOnce } from "./fetch-ohlc.ts";

const config = loadConfig();
const log = createLogger("ohlc-test", "error");
let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-ohlc-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

async function candlesIn(topic: string): Promise<OhlcMessage[]> {
  const records = await readTopic(createKafka(config.kafka, "ohlc-check"), topic, uniqueName("ohlc_reader"));
  return records.map((r) => JSON.parse(r.value?.toString() ?? "null") as OhlcMessage);
}

test("Kraken's recorded OHLC answer becomes its 720 committed candles, strings as sent, the forming row left out", async () => {
  const sim = await KrakenSimulator.start({ mode: "fixtures" });
  const topic = uniqueName("ohlc_recorded");
  try {
    const r = await fetchOhlcOnce({
      restUrl: sim.restUrl,
      symbols: ["BTC/USDT"],
      stateDir: join(stateDir, "recorded"),
      kafka: config.kafka,
      topic,
      log,
      signal: new AbortController().signal,
    });
    expect(r).toEqual({ candles: { "BTC/USDT": 720 }, rejected: 0 });
    const recorded = readFileSync(join(DEFAULT_FIXTURES_DIR, "rest_ohlc.jsonl"), "utf8").split(
      "\n",
    )[0] as string;
    const body = (
      JSON.parse(recorded) as { body: { result: { XBTUSDT: (string | number)[][]; last: number } } }
    ).body.result;
    const candles = await candlesIn(topic);
    expect(candles).toHaveLength(720);
    const asRows = candles.map((c) => [
      Date.parse(c.ts) / 1000,
      c.open,
      c.high,
      c.low,
      c.close,
      c.vwap,
      c.volume,
      c.trade_count,
    ]);
    expect(asRows).toEqual(body.XBTUSDT.slice(0, 720));
    expect(asRows.at(-1)?.[0]).toBe(body.last);
    expect(candles.every((c) => c.symbol === "BTC/USDT" && c.interval === 1 && c.v === 1)).toBe(true);
  } finally {
    await sim.stop();
  }
}, 60_000);

test("synthetic market: candles equal a recomputation from the trades; a second fetch adds only newer minutes", async () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const sim = await KrakenSimulator.start({
    seed: 31,
    tradesPerSecond: 0.15, // 1,500 trades over about three hours (sweep sizes vary)
    totalTrades: 1_500,
    startNs: now - 6n * 3_600_000_000_000n, // six hours ago, caught up at once
    speed: 1_000_000,
    maxTradesPerTick: 1_000_000,
  });
  await sim.whenFinished();
  const topic = uniqueName("ohlc_synthetic");
  const dir = join(stateDir, "synthetic");
  const run = () =>
    fetchOhlcOnce({
      restUrl: sim.restUrl,
      symbols: ["BTC/USD", "ETH/USD"],
      stateDir: dir,
      kafka: config.kafka,
      topic,
      log,
      signal: new AbortController().signal,
    });
  try {
    const first = await run();
    // Every minute of the six hours is committed (Kraken keeps up to 720), those before the first trade excepted.
    expect(first.candles["BTC/USD"]).toBeGreaterThan(350);
    expect(first.candles["BTC/USD"]).toBeLessThanOrEqual(360);
    const second = await run();
    expect(Object.values(second.candles).every((n) => n <= 1)).toBe(true);
    const candles = await candlesIn(topic);
    for (const symbol of ["BTC/USD", "ETH/USD"]) {
      const mine = candles.filter((c) => c.symbol === symbol);
      expect(new Set(mine.map((c) => c.ts)).size).toBe(mine.length);
      // Independent recomputation: group the simulator's trades by minute.
      const byMinute = new Map<string, { prices: string[]; qty: bigint; n: number }>();
      for (const t of sim.truth(symbol)) {
        const minute = `${t.ts.slice(0, 16)}:00.000000Z`;
        const m = byMinute.get(minute) ?? { prices: [], qty: 0n, n: 0 };
        m.prices.push(t.price);
        m.qty += BigInt(t.qty.replace(".", ""));
        m.n++;
        byMinute.set(minute, m);
      }
      let traded = 0;
      for (const c of mine) {
        const m = byMinute.get(c.ts);
        if (!m) {
          expect(c.trade_count).toBe(0);
          continue;
        }
        traded++;
        const num = (p: string) => Number(p);
        expect([c.open, c.close, String(c.trade_count)]).toEqual([
          m.prices[0] as string,
          m.prices.at(-1) as string,
          String(m.n),
        ]);
        expect(num(c.high)).toBe(Math.max(...m.prices.map(num)));
        expect(num(c.low)).toBe(Math.min(...m.prices.map(num)));
        expect(BigInt(c.volume.replace(".", ""))).toBe(m.qty);
      }
      expect(traded).toBeGreaterThan(80);
    }
  } finally {
    await sim.stop();
  }
}, 60_000);
