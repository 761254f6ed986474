/**
 * REST `/0/public/Trades` page → trade contract. Rows are positional
 * `[price, volume, time, side, ordertype, misc, trade_id]`; 2019-era rows have 6 elements (no id).
 * `time` is Kraken's float of the true ns instant (±~240 ns); only `last`, a 19-digit ns string, is
 * exact, and it is the final row's instant. So: the final row's `ts` is exact, any other row's `ts` is
 * the microsecond its float's instants fall in (the one holding most of them when they straddle two).
 */
import { TRADE_CONTRACT_VERSION, type TradeMessage } from "@tributary/shared/contracts/trade";
import { tradeRuleViolation } from "@tributary/shared/contracts/trade-rules";
import { formatMicros } from "@tributary/shared/time";
import { isArray, JsonNumber, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import type { PairInfo, PairRegistry } from "../pairs.ts";
import { restTimeRange } from "../rest-time.ts";
import { numberToken, restDecimal, tradeIdOf } from "./fields.ts";
import { describe, MappingError, type Rejection } from "./mapping.ts";
import type { SequencedTrade } from "./trade.ts";

export interface RestTradesPage {
  /** The result key Kraken used (pair id, altname or v2 symbol). */
  readonly resultKey: string;
  readonly pair: PairInfo;
  readonly trades: readonly SequencedTrade[];
  /** Rows in the page, valid or not (paging decides on this, not on `trades.length`). */
  readonly rowCount: number;
  /** `last` as sent (ns string); undefined when Kraken left it out. */
  readonly last: string | undefined;
  readonly rejections: readonly Rejection[];
}

const SIDE: Readonly<Record<string, TradeMessage["side"]>> = { b: "buy", s: "sell" };
const ORD_TYPE: Readonly<Record<string, TradeMessage["ord_type"]>> = { m: "market", l: "limit" };

/** Maps the `result` object of a Trades answer; `resultKey` is the one key that is not `last`. */
export function mapRestTrades(
  result: LosslessObject,
  resultKey: string,
  registry: PairRegistry,
  receivedAt: string,
): RestTradesPage {
  const pair = registry.byAnyName(resultKey);
  if (!pair) throw new MappingError(`Trades result key ${JSON.stringify(resultKey)} is not a known pair`);
  const rows = result[resultKey];
  if (!isArray(rows)) throw new MappingError(`Trades result ${resultKey} is not an array: ${describe(rows)}`);
  const trades: SequencedTrade[] = [];
  const rejections: Rejection[] = [];
  const last = lastOf(result.last);
  rows.forEach((row, index) => {
    try {
      trades.push(mapRow(row, pair, receivedAt, index === rows.length - 1 ? last : undefined));
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `Trades ${resultKey}[${index}]: ${err.message}`, index });
    }
  });
  return { resultKey, pair, trades, rowCount: rows.length, last, rejections };
}

function lastOf(v: LosslessValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === "string" ? v : v instanceof JsonNumber ? v.text : undefined;
  if (text === undefined || !/^\d+$/.test(text))
    throw new MappingError(`last is not a ns cursor: ${describe(v)}`);
  return text;
}

/** The true instant of a row: exactly `last` for the final row (when its float agrees), else a range. */
function instantOf(token: string, last: string | undefined): { lo: bigint; micros: bigint; exact?: string } {
  let range: { readonly lo: bigint; readonly hi: bigint };
  try {
    range = restTimeRange(token);
  } catch (err) {
    throw new MappingError(`time ${token}: ${(err as Error).message}`);
  }
  if (last !== undefined) {
    const ns = BigInt(last);
    if (ns >= range.lo && ns <= range.hi) return { lo: ns, micros: ns / 1000n, exact: last };
  }
  return { lo: range.lo, micros: (range.lo + range.hi) / 2n / 1000n };
}

function mapRow(
  row: LosslessValue,
  pair: PairInfo,
  receivedAt: string,
  last: string | undefined,
): SequencedTrade {
  if (!isArray(row)) throw new MappingError(`row is not an array: ${describe(row)}`);
  if (row.length !== 6 && row.length !== 7) {
    throw new MappingError(`row has ${row.length} elements, expected 6 or 7`);
  }
  const [price, volume, time, side, ordType, misc, tradeId] = row;
  if (typeof misc !== "string") throw new MappingError(`misc is not a string: ${describe(misc)}`);
  if (tradeId === undefined) {
    throw new MappingError(
      "6-element row (pre-2021 format) has no trade_id, which the trade contract requires",
    );
  }
  const timeToken = numberToken(time, "time");
  if (!/^\d+(?:\.\d{1,9})?$/.test(timeToken))
    throw new MappingError(`time ${JSON.stringify(timeToken)} is not unix seconds with at most 9 decimals`);
  const instant = instantOf(timeToken, last);
  const sideName = typeof side === "string" ? SIDE[side] : undefined;
  if (!sideName) throw new MappingError(`side ${describe(side)} is not "b" or "s"`);
  const ordName = typeof ordType === "string" ? ORD_TYPE[ordType] : undefined;
  if (!ordName) throw new MappingError(`ordertype ${describe(ordType)} is not "m" or "l"`);
  const message: TradeMessage = {
    v: TRADE_CONTRACT_VERSION,
    exchange: "KRAKEN",
    symbol: pair.symbol,
    trade_id: tradeIdOf(tradeId, "trade_id"),
    price: restDecimal(price, pair.priceDecimals, "price"),
    qty: restDecimal(volume, pair.lotDecimals, "volume"),
    side: sideName,
    ord_type: ordName,
    ts: formatMicros(instant.micros),
    received_at: receivedAt,
    source: "rest",
  };
  const broken = tradeRuleViolation(message, instant.micros);
  if (broken) throw new MappingError(broken);
  return instant.exact === undefined
    ? { message, timeNs: instant.lo }
    : { message, timeNs: instant.lo, last: instant.exact };
}
