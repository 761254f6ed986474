/**
 * The simulator's public REST endpoints under `/0/public/`: AssetPairs, Trades, Ticker, OHLC, Depth, Time,
 * SystemStatus, in Kraken's exact formats (HTTP 200 with `{"error":[…]}` for API errors, `\/` escapes
 * kept in replayed bodies). Recorded bodies are served byte-exact where they apply; otherwise answers
 * come from the synthetic market's tape.
 */
import { isArray, isObject, JsonNumber, type LosslessValue, parseLossless } from "../kraken/lossless-json.ts";
import { secondsTokenToNanos } from "../kraken/mappers/fields.ts";
import type { PairInfo } from "../kraken/pairs.ts";
import type { PairCatalog } from "./catalog.ts";
import type { FaultInjector, RestFailureKind } from "./faults.ts";
import type { RestFixture } from "./fixtures.ts";
import {
  type PairFormat,
  restPrice,
  restTradesBody,
  rfc1123TwoDigitYear,
  unitsToDecimal,
} from "./formats.ts";
import { malformedTradesBody } from "./malformed.ts";
import { OHLC_INTERVALS, type OhlcFaultField, ohlcBody } from "./ohlc.ts";
import type { TradeTape } from "./tape.ts";
import type { TickerStats } from "./ticker-stats.ts";

export interface RestContext {
  readonly mode: "synthetic" | "fixtures";
  readonly catalog: PairCatalog;
  readonly fixtures: readonly RestFixture[];
  readonly faults: FaultInjector;
  readonly tape: (symbol: string) => TradeTape | undefined;
  readonly formatFor: (symbol: string) => PairFormat | undefined;
  readonly tickerStats: (symbol: string) => TickerStats | undefined;
  readonly nowNs: () => bigint;
  /** Which field of a committed candle (start in unix s) Kraken gets wrong, per symbol. */
  readonly ohlcFault: (symbol: string) => (timeS: bigint) => OhlcFaultField | undefined;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function json(body: string, status = 200): Response {
  return new Response(body, { status, headers: JSON_HEADERS });
}

function errorBody(fixtures: readonly RestFixture[], id: string, fallback: string): string {
  return fixtures.find((f) => f.id === id)?.body ?? `{"error":["${fallback}"]}`;
}

export class RestEndpoints {
  requests = 0;
  constructor(private readonly ctx: RestContext) {}

  handle(url: URL): Response {
    this.requests++;
    const method = url.pathname.slice("/0/public/".length);
    const failure = this.ctx.faults.restFailure();
    if (failure) return this.failure(failure);
    const q = url.searchParams;
    switch (method) {
      case "AssetPairs":
        return this.assetPairs(q);
      case "Trades":
        return this.trades(q);
      case "Ticker":
        return this.ticker(q);
      case "OHLC":
        return this.ohlc(q);
      case "Depth":
        return this.depth(q);
      case "Time":
        return this.time();
      case "SystemStatus":
        return this.systemStatus();
      default:
        return json(`{"error":["EGeneral:Unknown method"]}`);
    }
  }

  private failure(kind: RestFailureKind): Response {
    const c = this.ctx.faults.counts;
    const f = this.ctx.fixtures;
    switch (kind) {
      case "http429":
        c.restHttp429++;
        return new Response(cloudflarePage(429, "Too Many Requests"), {
          status: 429,
          headers: { "content-type": "text/html" },
        });
      case "http5xx": {
        c.restHttp5xx++;
        const status = this.ctx.faults.rng.pick([502, 503, 504, 520, 522]);
        return new Response(cloudflarePage(status, "Bad gateway"), {
          status,
          headers: { "content-type": "text/html" },
        });
      }
      case "rate_limit":
        c.restRateLimitErrors++;
        return json(errorBody(f, "err-rate-limit", "EAPI:Rate limit exceeded"));
      case "too_many_requests":
        c.restRateLimitErrors++;
        return json(errorBody(f, "err-too-many-requests", "EGeneral:Too many requests"));
      case "service_unavailable":
        c.restServiceErrors++;
        return json(errorBody(f, "err-service-unavailable", "EService:Unavailable"));
      case "service_busy":
        c.restServiceErrors++;
        return json(errorBody(f, "err-service-busy", "EService:Busy"));
    }
  }

  private unknownPair(): Response {
    return json(errorBody(this.ctx.fixtures, "err-unknown-asset-pair", "EQuery:Unknown asset pair"));
  }

  private invalidArguments(): Response {
    return json(errorBody(this.ctx.fixtures, "err-invalid-arguments", "EGeneral:Invalid arguments"));
  }

  private pairs(q: URLSearchParams): PairInfo[] | undefined {
    const names = (q.get("pair") ?? "").split(",").filter((s) => s.length > 0);
    const out: PairInfo[] = [];
    for (const n of names) {
      const p = this.ctx.catalog.resolve(n);
      if (!p) return undefined;
      out.push(p);
    }
    return out;
  }

  /** A recorded body whose request asked for one of `pair`'s names. */
  private recorded(endpoint: string, pair: PairInfo | undefined): RestFixture | undefined {
    const candidates = this.ctx.fixtures.filter(
      (f) => f.endpoint === endpoint && f.genuineness.startsWith("recorded"),
    );
    if (!pair) return candidates[0];
    return candidates.find((f) => {
      const asked = f.query.pair?.split(",") ?? [];
      return asked.some((a) => this.ctx.catalog.resolve(a)?.pairId === pair.pairId);
    });
  }

  private assetPairs(q: URLSearchParams): Response {
    const pair = q.get("pair");
    if (!pair) return json(this.ctx.catalog.fullBody);
    const body = this.ctx.catalog.subsetBody(pair.split(",").filter((s) => s));
    return body ? json(body) : this.unknownPair();
  }

  private trades(q: URLSearchParams): Response {
    const pairs = this.pairs(q);
    if (!pairs) return this.unknownPair();
    const pair = pairs[0];
    if (!pair || pairs.length !== 1) return this.invalidArguments();
    const countText = q.get("count") ?? "1000";
    const count = /^\d{1,4}$/.test(countText) ? Number(countText) : Number.NaN;
    if (!(count >= 1 && count <= 1000)) return this.invalidArguments();
    const sinceText = q.get("since");
    let since: bigint | undefined;
    if (sinceText !== null) {
      if (/^\d+$/.test(sinceText)) since = BigInt(sinceText);
      // Fractional seconds behave as if truncated on Kraken: the page starts before the instant.
      else if (/^\d+\.\d{1,9}$/.test(sinceText))
        since = BigInt(sinceText.split(".")[0] as string) * 1_000_000_000n;
      else return this.invalidArguments();
    }
    const body =
      this.ctx.mode === "fixtures"
        ? this.recordedTrades(pair, since, count)
        : this.syntheticTrades(pair, since, count);
    if (this.ctx.faults.wantMalformedRest()) {
      const bad = malformedTradesBody(this.ctx.faults.rng, pair.pairId, body);
      this.ctx.faults.sentMalformed("rest", bad);
      return json(bad);
    }
    return json(body);
  }

  /**
   * Trades strictly after `since` (true ns), at most `count`; `last` = the exact ns of the final trade.
   * An empty page echoes `since` (Kraken's answer there is unrecorded) or, without one, the clock.
   */
  private syntheticTrades(pair: PairInfo, since: bigint | undefined, count: number): string {
    const tape = this.ctx.tape(pair.symbol);
    const format = this.ctx.formatFor(pair.symbol) ?? { ...pair };
    const trades = tape ? (since === undefined ? tape.latest(count) : tape.after(since, count)) : [];
    const lastTrade = trades[trades.length - 1];
    const last = lastTrade ? lastTrade.timeNs : (since ?? this.ctx.nowNs());
    return restTradesBody(format, trades, last.toString());
  }

  /**
   * Fixture mode: the recorded page is the pair's whole history and is served verbatim, `last`
   * included, whenever it answers the request (no `since`, or `since` before its first row, and
   * `count` ≥ its rows). A `since` at or past the recorded `last` gets an empty page echoing it. Any
   * other request needs rows cut out of the recording: those come back in recorded order and bytes,
   * and `last` is the recorded one when the cut reaches the final row; otherwise it is the final
   * row's float read as ns, which is synthetic (labelled in docs/ingest.md).
   */
  private recordedTrades(pair: PairInfo, since: bigint | undefined, count: number): string {
    const f = this.recorded("/0/public/Trades", pair);
    if (!f) return `{"error":[],"result":{"${pair.pairId}":[],"last":"${since ?? 0n}"}}`;
    const env = parseLossless(f.body);
    const result = isObject(env) && isObject(env.result) ? env.result : {};
    const key = Object.keys(result).find((k) => k !== "last") ?? pair.pairId;
    const rows = isArray(result[key]) ? (result[key] as readonly LosslessValue[]) : [];
    const recordedLast = typeof result.last === "string" ? result.last : undefined;
    const timeOf = (row: LosslessValue | undefined) =>
      isArray(row) && row[2] instanceof JsonNumber ? secondsTokenToNanos(row[2].text) : 0n;
    const first = timeOf(rows[0]);
    if ((since === undefined || since < first) && count >= rows.length) return f.body;
    if (since !== undefined && recordedLast !== undefined && since >= BigInt(recordedLast)) {
      return `{"error":[],"result":{"${key}":[],"last":"${since}"}}`;
    }
    const from =
      since === undefined ? Math.max(0, rows.length - count) : rows.findIndex((r) => timeOf(r) > since);
    const picked = from < 0 ? [] : rows.slice(from, from + count);
    const reachesEnd = from >= 0 && from + picked.length === rows.length;
    const last =
      reachesEnd && recordedLast !== undefined ? recordedLast : timeOf(picked[picked.length - 1]).toString();
    return `{"error":[],"result":{"${key}":[${picked.map(stringifyLossless).join(",")}],"last":"${picked.length ? last : (since ?? 0n).toString()}"}}`;
  }

  private ticker(q: URLSearchParams): Response {
    const pairs = this.pairs(q);
    if (!pairs) return this.unknownPair();
    if (this.ctx.mode === "fixtures") {
      const f = this.recorded("/0/public/Ticker", pairs[0]);
      if (f) return json(f.body);
    }
    const entries = pairs.map((p) => {
      const format = this.ctx.formatFor(p.symbol) ?? p;
      const s = this.ctx.tickerStats(p.symbol);
      const price = (u: bigint | undefined) => restPrice(u ?? 0n, format.priceDecimals);
      const qty = (u: bigint) => unitsToDecimal(u, format.lotDecimals);
      const last = s?.last;
      const vol = qty(s?.volumeUnits ?? 0n);
      const vwap = price(s?.vwap());
      const n = s?.count ?? 0;
      return `"${p.pairId}":{"a":["${price(last === undefined ? undefined : last + 1n)}","1","1.000"],"b":["${price(last === undefined ? undefined : last - 1n)}","1","1.000"],"c":["${price(last)}","${qty(s?.lastQty ?? 0n)}"],"v":["${vol}","${vol}"],"p":["${vwap}","${vwap}"],"t":[${n},${n}],"l":["${price(s?.low)}","${price(s?.low)}"],"h":["${price(s?.high)}","${price(s?.high)}"],"o":"${price(s?.first)}"}`;
    });
    return json(`{"error":[],"result":{${entries.join(",")}}}`);
  }

  private ohlc(q: URLSearchParams): Response {
    const pairs = this.pairs(q);
    if (!pairs) return this.unknownPair();
    const pair = pairs[0];
    if (!pair || pairs.length !== 1) return this.invalidArguments();
    const interval = Number(q.get("interval") ?? "1");
    if (!OHLC_INTERVALS.has(interval)) return this.invalidArguments();
    const sinceText = q.get("since");
    if (sinceText !== null && !/^\d{1,12}$/.test(sinceText)) return this.invalidArguments();
    if (this.ctx.mode === "fixtures") {
      const f = this.recorded("/0/public/OHLC", pair);
      if (f) return json(f.body);
    }
    const format = this.ctx.formatFor(pair.symbol) ?? pair;
    return json(
      ohlcBody({
        tape: this.ctx.tape(pair.symbol),
        format,
        intervalMinutes: interval,
        since: sinceText === null ? undefined : BigInt(sinceText),
        nowNs: this.ctx.nowNs(),
        fault: this.ctx.ohlcFault(pair.symbol),
      }),
    );
  }

  private depth(q: URLSearchParams): Response {
    const pairs = this.pairs(q);
    if (!pairs) return this.unknownPair();
    const pair = pairs[0];
    if (!pair || pairs.length !== 1) return this.invalidArguments();
    if (this.ctx.mode === "fixtures") {
      const f = this.recorded("/0/public/Depth", pair);
      if (f) return json(f.body);
    }
    const count = Math.min(500, Math.max(1, Number(q.get("count") ?? "100") || 100));
    const format = this.ctx.formatFor(pair.symbol) ?? pair;
    const last = this.ctx.tickerStats(pair.symbol)?.last ?? 10n ** BigInt(format.priceDecimals);
    const nowS = this.ctx.nowNs() / 1_000_000_000n;
    const level = (u: bigint, i: number) =>
      `["${restPrice(u, format.priceDecimals)}","${(i % 7) + 1}.${String((i * 37) % 1000).padStart(3, "0")}",${nowS - BigInt(i)}]`;
    const asks = Array.from({ length: count }, (_, i) => level(last + 1n + BigInt(i), i));
    const bids = Array.from({ length: count }, (_, i) => level(last - 1n - BigInt(i), i));
    return json(
      `{"error":[],"result":{"${pair.pairId}":{"asks":[${asks.join(",")}],"bids":[${bids.join(",")}]}}}`,
    );
  }

  private time(): Response {
    if (this.ctx.mode === "fixtures") {
      const f = this.recorded("/0/public/Time", undefined);
      if (f) return json(f.body);
    }
    const ms = Number(this.ctx.nowNs() / 1_000_000n);
    return json(
      `{"error":[],"result":{"unixtime":${Math.floor(ms / 1000)},"rfc1123":"${rfc1123TwoDigitYear(new Date(ms))}"}}`,
    );
  }

  private systemStatus(): Response {
    if (this.ctx.mode === "fixtures") {
      const f = this.recorded("/0/public/SystemStatus", undefined);
      if (f) return json(f.body);
    }
    const iso = new Date(Number(this.ctx.nowNs() / 1_000_000n)).toISOString().slice(0, 19);
    return json(`{"error":[],"result":{"status":"online","timestamp":"${iso}Z"}}`);
  }
}

function cloudflarePage(status: number, title: string): string {
  return `<!DOCTYPE html>\n<html><head><title>${status} ${title}</title></head><body><center><h1>${status} ${title}</h1></center><hr><center>cloudflare</center></body></html>\n`;
}

/** Re-serializes lossless JSON with the original number tokens. */
export function stringifyLossless(v: LosslessValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (isArray(v)) return `[${v.map(stringifyLossless).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyLossless(x)}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
