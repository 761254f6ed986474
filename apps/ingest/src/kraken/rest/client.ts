/**
 * Kraken public REST client: AssetPairs, Trades (ns `since` cursor kept as a string), Ticker, Time.
 * Errors are read before results (they come with HTTP 200). Rate limits and service errors (Kraken's
 * `EAPI`/`EService` strings, HTTP 429/5xx, HTML bodies) are retried with capped exponential backoff and
 * jitter; `EQuery:Unknown asset pair` throws KrakenConfigError at once.
 */

import { Backoff, type BackoffPolicy } from "@tributary/shared/backoff";
import { sleep } from "@tributary/shared/sleep";
import { nowRfc3339 } from "@tributary/shared/time";
import { classifyHttpStatus, KrakenConfigError, KrakenError } from "../errors.ts";
import { JsonNumber, type LosslessObject } from "../lossless-json.ts";
import { type Mapped, MappingError } from "../mappers/mapping.ts";
import { mapAssetPairs } from "../mappers/rest-asset-pairs.ts";
import { mapRestOhlc, type RestOhlcPage } from "../mappers/rest-ohlc.ts";
import { mapRestTickers, type RestTicker } from "../mappers/rest-ticker.ts";
import { mapRestTrades, type RestTradesPage } from "../mappers/rest-trades.ts";
import { type PairInfo, PairRegistry } from "../pairs.ts";
import { parseEnvelope, resultPairKey } from "./envelope.ts";

export interface KrakenRestOptions {
  /** e.g. `https://api.kraken.com/0` or the simulator's `http://127.0.0.1:8787/0`. */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
  /** Attempts per call before the last retryable error is thrown. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  /** Minimum wait after a rate-limit answer (Kraken asks for "several seconds"). */
  readonly rateLimitDelayMs?: number;
  readonly signal?: AbortSignal;
  readonly fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Told about every retry (metrics, logs). */
  readonly onRetry?: (error: KrakenError, attempt: number, delayMs: number) => void;
  /** Told about every 200 body that is not a readable envelope, before it is retried (dead-letter it). */
  readonly onInvalidBody?: (endpoint: string, body: string, reason: string) => void;
}

export interface TradesPageWithBody extends RestTradesPage {
  /** The exact body text, for quarantining rejected rows with their raw bytes. */
  readonly body: string;
}

const DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 8,
  backoff: { initialMs: 500, maxMs: 30_000 } satisfies BackoffPolicy,
  rateLimitDelayMs: 3_000,
};

export class KrakenRestClient {
  private readonly base: string;

  constructor(private readonly opts: KrakenRestOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  async assetPairs(pairs?: readonly string[]): Promise<Mapped<PairInfo>> {
    return this.call("AssetPairs", pairs ? { pair: pairs.join(",") } : {}, (result) => mapAssetPairs(result));
  }

  /**
   * One Trades page. `since` is Kraken's ns cursor as a string (never a JS number); omit it for the
   * most recent trades. Rejected rows come back in `rejections`, never thrown.
   */
  async trades(
    pair: PairInfo,
    registry: PairRegistry,
    since?: string,
    count = 1000,
  ): Promise<TradesPageWithBody> {
    if (since !== undefined && !/^\d+$/.test(since))
      throw new Error(`since must be a ns integer string: ${since}`);
    const query: Record<string, string> = { pair: pair.altname, count: String(count) };
    if (since !== undefined) query.since = since;
    return this.call("Trades", query, (result, body, receivedAt) => {
      const page = mapRestTrades(result, resultPairKey(result, "Trades"), registry, receivedAt);
      if (page.pair.symbol !== pair.symbol) {
        throw new MappingError(`Trades for ${pair.altname} answered for ${page.resultKey}`);
      }
      return { ...page, body };
    });
  }

  /**
   * Kraken's OHLC of one pair: committed candles after `since` (unix s) plus the forming one; the page's
   * raw body comes along for the dead-letter topic when rows are rejected.
   */
  async ohlc(
    pair: PairInfo,
    registry: PairRegistry,
    intervalMinutes: number,
    since?: number,
  ): Promise<RestOhlcPage & { readonly body: string }> {
    const query: Record<string, string> = { pair: pair.altname, interval: String(intervalMinutes) };
    if (since !== undefined) query.since = String(since);
    return this.call("OHLC", query, (result, body, receivedAt) => {
      const page = mapRestOhlc(result, resultPairKey(result, "OHLC"), registry, intervalMinutes, receivedAt);
      if (page.pair.symbol !== pair.symbol)
        throw new MappingError(`OHLC for ${pair.altname} answered for ${page.resultKey}`);
      return { ...page, body };
    });
  }

  async ticker(pairs: readonly PairInfo[], registry: PairRegistry): Promise<Mapped<RestTicker>> {
    return this.call("Ticker", { pair: pairs.map((p) => p.altname).join(",") }, (result) =>
      mapRestTickers(result, registry),
    );
  }

  async serverTime(): Promise<{ readonly unixtime: number; readonly rfc1123: string }> {
    return this.call("Time", {}, (result) => {
      const { unixtime, rfc1123 } = result;
      if (!(unixtime instanceof JsonNumber) || typeof rfc1123 !== "string") {
        throw new MappingError("Time result lacks unixtime/rfc1123");
      }
      return { unixtime: Number(unixtime.text), rfc1123 };
    });
  }

  /** GET `/public/<method>`; maps the result with `map`, retrying what is retryable. */
  private async call<T>(
    method: string,
    query: Record<string, string>,
    map: (result: LosslessObject, body: string, receivedAt: string) => T,
  ): Promise<T> {
    const url = `${this.base}/public/${method}${queryString(query)}`;
    const maxAttempts = this.opts.maxAttempts ?? DEFAULTS.maxAttempts;
    const backoff = new Backoff(this.opts.backoff ?? DEFAULTS.backoff);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, url, map);
      } catch (err) {
        const error =
          err instanceof KrakenError ? err : new KrakenError("transport", String(err), { cause: err });
        if (error.kind === "invalid_body" && error.details.body !== undefined) {
          this.opts.onInvalidBody?.(method, error.details.body, error.message);
        }
        if (!error.retryable || attempt >= maxAttempts || this.opts.signal?.aborted) throw error;
        const minimum =
          error.kind === "rate_limit"
            ? Math.max(
                this.opts.rateLimitDelayMs ?? DEFAULTS.rateLimitDelayMs,
                error.details.retryAfterMs ?? 0,
              )
            : 0;
        const delay = backoff.next(minimum);
        this.opts.onRetry?.(error, attempt, delay);
        // Stopping while waiting: the retried error is the answer, not the abort.
        await sleep(delay, this.opts.signal).catch(() => {
          throw error;
        });
      }
    }
  }

  private async once<T>(
    method: string,
    url: string,
    map: (result: LosslessObject, body: string, receivedAt: string) => T,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULTS.timeoutMs);
    const signal = this.opts.signal ? AbortSignal.any([timeout, this.opts.signal]) : timeout;
    let response: Response;
    let body: string;
    try {
      response = await (this.opts.fetch ?? fetch)(url, {
        signal,
        headers: { "User-Agent": "tributary-ingest/0.1", Accept: "application/json" },
      });
      body = await response.text();
    } catch (err) {
      throw new KrakenError("transport", `${method}: request failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const receivedAt = nowRfc3339();
    if (response.status !== 200) {
      const kind = classifyHttpStatus(response.status);
      throw new KrakenError(kind, `${method}: HTTP ${response.status} ${snippet(body)}`, {
        status: response.status,
        body,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
      });
    }
    const result = parseEnvelope(body, method);
    try {
      return map(result, body, receivedAt);
    } catch (err) {
      if (err instanceof MappingError || (err instanceof KrakenError && err.kind === "invalid_body")) {
        throw new KrakenError("invalid_body", `${method}: ${err.message}`, { status: 200, body, cause: err });
      }
      throw err;
    }
  }
}

function queryString(query: Record<string, string>): string {
  const entries = Object.entries(query);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : "";
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, " ").trim();
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header || !/^\d+$/.test(header)) return undefined;
  return Math.min(Number(header) * 1000, 60_000);
}

/** Resolves the configured WS v2 symbols through AssetPairs; an unknown symbol is a configuration error. */
export async function resolveSymbols(
  rest: KrakenRestClient,
  symbols: readonly string[],
): Promise<PairRegistry> {
  let mapped: Awaited<ReturnType<KrakenRestClient["assetPairs"]>>;
  try {
    mapped = await rest.assetPairs(symbols);
  } catch (err) {
    if (err instanceof KrakenConfigError) {
      throw new KrakenConfigError(
        `Kraken does not know one of the configured symbols ${symbols.join(",")} (${err.message}); check KRAKEN_SYMBOLS or --symbols`,
      );
    }
    throw err;
  }
  const all = new PairRegistry(mapped.records);
  const missing = symbols.filter((s) => !all.bySymbolName(s));
  if (missing.length) {
    throw new KrakenConfigError(
      `AssetPairs has no WS v2 symbol ${missing.join(", ")}; check KRAKEN_SYMBOLS or --symbols`,
    );
  }
  return new PairRegistry(symbols.map((s) => all.bySymbolName(s)).filter((p) => p !== undefined));
}
