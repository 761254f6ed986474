/**
 * REST `/0/public/Ticker` result → typed ticker records. REST carries "today" (since 00:00 UTC) and
 * 24h windows, and today's open, but no 24h change; so it is not the WS ticker contract and is not
 * written to `kraken.ticker` (that would invent `change`). Values stay exact decimal strings.
 */
import { isArray, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import type { PairRegistry } from "../pairs.ts";
import { integerText, restDecimalExact } from "./fields.ts";
import { describe, type Mapped, MappingError, type Rejection } from "./mapping.ts";

export interface RestTicker {
  readonly symbol: string;
  readonly pairId: string;
  readonly ask: { readonly price: string; readonly wholeLotVolume: string; readonly lotVolume: string };
  readonly bid: { readonly price: string; readonly wholeLotVolume: string; readonly lotVolume: string };
  readonly lastTrade: { readonly price: string; readonly lotVolume: string };
  readonly volume: Window;
  readonly vwap: Window;
  readonly trades: Window;
  readonly low: Window;
  readonly high: Window;
  /** Today's opening price (since 00:00 UTC). */
  readonly open: string;
}

interface Window {
  readonly today: string;
  readonly last24h: string;
}

export function mapRestTickers(result: LosslessObject, registry: PairRegistry): Mapped<RestTicker> {
  const records: RestTicker[] = [];
  const rejections: Rejection[] = [];
  for (const [key, entry] of Object.entries(result)) {
    try {
      const pair = registry.byAnyName(key);
      if (!pair) throw new MappingError(`result key ${JSON.stringify(key)} is not a known pair`);
      const o = entry as LosslessObject;
      if (typeof o !== "object" || o === null || isArray(o))
        throw new MappingError(`not an object: ${describe(o)}`);
      const a = strings(o.a, 3, "a");
      const b = strings(o.b, 3, "b");
      const c = strings(o.c, 2, "c");
      records.push({
        symbol: pair.symbol,
        pairId: key,
        ask: { price: a[0], wholeLotVolume: a[1], lotVolume: a[2] },
        bid: { price: b[0], wholeLotVolume: b[1], lotVolume: b[2] },
        lastTrade: { price: c[0], lotVolume: c[1] },
        volume: window(o.v, "v"),
        vwap: window(o.p, "p"),
        trades: countWindow(o.t),
        low: window(o.l, "l"),
        high: window(o.h, "h"),
        open: restDecimalExact(o.o, "o"),
      });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `Ticker ${key}: ${err.message}` });
    }
  }
  return { records, rejections };
}

function strings(
  v: LosslessValue | undefined,
  n: number,
  what: string,
): string[] & { 0: string; 1: string; 2: string } {
  if (!isArray(v) || v.length !== n)
    throw new MappingError(`${what} is not an array of ${n}: ${describe(v)}`);
  return v.map((x, i) => restDecimalExact(x, `${what}[${i}]`)) as string[] & {
    0: string;
    1: string;
    2: string;
  };
}

function window(v: LosslessValue | undefined, what: string): Window {
  const [today, last24h] = strings(v, 2, what);
  return { today, last24h };
}

function countWindow(v: LosslessValue | undefined): Window {
  if (!isArray(v) || v.length !== 2) throw new MappingError(`t is not an array of 2: ${describe(v)}`);
  return { today: integerText(v[0], "t[0]"), last24h: integerText(v[1], "t[1]") };
}
