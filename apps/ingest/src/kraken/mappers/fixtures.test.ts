/**
 * Golden tests: every recorded Kraken fixture goes through the real mappers and the result is pinned
 * in `fixtures.golden.json` (regenerate with UPDATE_GOLDEN=1 after a deliberate change, then review).
 */
import { expect, describe as group, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TRADE_CONTRACT_VERSION } from "@tributary/shared/contracts/trade";
import { formatMicros, secondsTokenToMicros } from "@tributary/shared/time";
import { loadRestFixtures, loadWsV2Fixtures } from "../../simulator/fixtures.ts";
import type { KrakenError } from "../errors.ts";
import { PairRegistry } from "../pairs.ts";
import { parseEnvelope, resultPairKey } from "../rest/envelope.ts";
import { mapAssetPairs } from "./rest-asset-pairs.ts";
import { mapRestTickers } from "./rest-ticker.ts";
import { mapRestTrades } from "./rest-trades.ts";
import { classifyWsFrame } from "./ws-frame.ts";
import { mapWsTickers } from "./ws-ticker.ts";
import { mapWsTrades } from "./ws-trade.ts";

const RECEIVED_AT = "2025-01-01T00:00:00.000000Z";
const GOLDEN = join(import.meta.dir, "fixtures.golden.json");
const rest = loadRestFixtures();
const ws = loadWsV2Fixtures();
const byEndpoint = (e: string) => rest.filter((f) => f.endpoint === e);

/** The registry the ingester would build: every AssetPairs fixture, newest last. */
const registry = new PairRegistry(
  byEndpoint("/0/public/AssetPairs").flatMap((f) => mapAssetPairs(parseEnvelope(f.body, f.id)).records),
);

function digest(lines: readonly unknown[]): string {
  return createHash("sha256")
    .update(lines.map((l) => JSON.stringify(l)).join("\n"))
    .digest("hex");
}

function buildSummary() {
  const assetPairs = byEndpoint("/0/public/AssetPairs").map((f) => {
    const mapped = mapAssetPairs(parseEnvelope(f.body, f.id));
    return {
      id: f.id,
      pairs: mapped.records.length,
      rejections: mapped.rejections,
      sample: mapped.records.filter((p) =>
        ["XXBTZUSD", "XETHZUSD", "XDGUSD", "XBTUSDT", "SOLUSD"].includes(p.pairId),
      ),
    };
  });
  const trades = byEndpoint("/0/public/Trades").map((f) => {
    const result = parseEnvelope(f.body, f.id);
    const page = mapRestTrades(result, resultPairKey(result, f.id), registry, RECEIVED_AT);
    const msgs = page.trades.map((t) => t.message);
    return {
      id: f.id,
      resultKey: page.resultKey,
      symbol: page.pair.symbol,
      rows: page.rowCount,
      last: page.last,
      rejections: page.rejections,
      first: msgs.slice(0, 3),
      final: msgs.slice(-2),
      sha256: digest(msgs),
    };
  });
  const restTickers = byEndpoint("/0/public/Ticker").map((f) => ({
    id: f.id,
    ...mapRestTickers(parseEnvelope(f.body, f.id), registry),
  }));
  const errors = rest
    .filter((f) => f.id.startsWith("err-"))
    .map((f) => {
      try {
        parseEnvelope(f.body, f.id);
        return { id: f.id, kind: "none" };
      } catch (err) {
        return { id: f.id, kind: (err as KrakenError).kind, retryable: (err as KrakenError).retryable };
      }
    });
  const wsFrames = ws
    .filter((f) => f.direction === "recv")
    .map((f) => {
      const frame = classifyWsFrame(f.msg);
      if (frame.kind !== "data") return { id: f.id, frame };
      if (frame.channel === "trade")
        return { id: f.id, channel: "trade", ...mapWsTrades(frame.data, registry, RECEIVED_AT) };
      if (frame.channel === "ticker")
        return { id: f.id, channel: "ticker", ...mapWsTickers(frame.data, registry, RECEIVED_AT) };
      return { id: f.id, channel: frame.channel, type: frame.type };
    });
  return JSON.parse(
    JSON.stringify({ assetPairs, trades, restTickers, errors, wsFrames }, (_k, v) =>
      typeof v === "bigint" ? v.toString() : v,
    ),
  );
}

group("recorded Kraken fixtures", () => {
  const summary = buildSummary();

  test("map to the pinned golden results", () => {
    if (process.env.UPDATE_GOLDEN === "1") {
      writeFileSync(GOLDEN, `${JSON.stringify(summary, null, 1)}\n`);
    }
    expect(summary).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
  });

  test("the recorded 1000-trade page parses completely: contiguous ids, exact µs times, last = ns of the final trade", () => {
    const f = rest.find((x) => x.id === "trades-xbtusdt-1000-2025-11-10");
    if (!f) throw new Error("fixture missing");
    const result = parseEnvelope(f.body, f.id);
    const page = mapRestTrades(result, resultPairKey(result, f.id), registry, RECEIVED_AT);
    expect(page.rejections).toEqual([]);
    expect(page.trades).toHaveLength(1000);
    expect(page.pair.symbol).toBe("BTC/USDT");
    expect(page.trades.map((t) => t.message.trade_id)).toEqual(
      Array.from({ length: 1000 }, (_, i) => 10218208 + i),
    );
    const finalTrade = page.trades[999];
    // `last` is the final trade's exact ns instant; its float token 1762820035.9822779 is 146 ns above.
    expect(page.last).toBe("1762820035982277754");
    expect(finalTrade?.timeNs.toString()).toBe("1762820035982277754");
    expect(finalTrade?.last).toBe("1762820035982277754");
    expect(page.trades.slice(0, 999).every((t) => t.last === undefined)).toBe(true);
    expect(page.trades[0]?.message).toEqual({
      v: TRADE_CONTRACT_VERSION,
      exchange: "KRAKEN",
      symbol: "BTC/USDT",
      trade_id: 10218208,
      price: "105433.6",
      qty: "0.00027625",
      side: "buy",
      ord_type: "limit",
      ts: formatMicros(secondsTokenToMicros("1762795433.9717445")),
      received_at: RECEIVED_AT,
      source: "rest",
    });
    expect(page.trades[0]?.message.ts).toBe("2025-11-10T17:23:53.971744Z");
  });

  test("the legacy result key XXBTZUSD maps to the v2 symbol BTC/USD", () => {
    const t = summary.trades.find((x: { id: string }) => x.id === "trades-xxbtzusd-kar-2023-11-26");
    expect(t.resultKey).toBe("XXBTZUSD");
    expect(t.symbol).toBe("BTC/USD");
    expect(t.rows).toBe(31);
    expect(t.rejections).toEqual([]);
  });

  test("WS v2 numbers get their trailing zeros back at the pair's precision", () => {
    const update = summary.wsFrames.find((x: { id: string }) => x.id === "trade-update-kar");
    expect(
      update.records.map((r: { message: { price: string; qty: string } }) => [
        r.message.price,
        r.message.qty,
      ]),
    ).toEqual([
      ["68500.0", "0.01044926"],
      ["68500.0", "0.00483192"],
    ]);
    const ticker = summary.wsFrames.find((x: { id: string }) => x.id === "ticker-snapshot-kar");
    expect(ticker.records[0].bid_qty).toBe("0.10000000");
    expect(ticker.records[0].ts).toBe(RECEIVED_AT);
  });

  test("the u64 connection_id of the status message is kept exactly", () => {
    const status = summary.wsFrames.find((x: { id: string }) => x.id === "status-2.0.10-bytex");
    expect(status.frame.connectionId).toBe("18125794168470749634");
  });

  test("error envelopes are classified: unknown pair is configuration, rate limits and EService retry", () => {
    const kinds = Object.fromEntries(summary.errors.map((e: { id: string; kind: string }) => [e.id, e.kind]));
    expect(kinds["err-unknown-asset-pair"]).toBe("config");
    expect(kinds["err-rate-limit"]).toBe("rate_limit");
    expect(kinds["err-too-many-requests"]).toBe("rate_limit");
    expect(kinds["err-service-unavailable"]).toBe("service");
    expect(kinds["err-service-busy"]).toBe("service");
    expect(kinds["err-invalid-arguments"]).toBe("request");
  });
});
