/**
 * REST `/0/public/Trades` page → trade contract. Rows are positional
 * `[price, volume, time, side, ordertype, misc, trade_id]`; 2019-era rows have 6 elements (no id).
 * `time` is read from its JSON token, never through a float; `last` is a 19-digit ns string.
 */
import { TRADE_CONTRACT_VERSION, type TradeMessage } from "@tributary/shared/contracts/trade";
import { formatMicros, secondsTokenToMicros } from "@tributary/shared/time";
import { isArray, JsonNumber, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import type { PairInfo, PairRegistry } from "../pairs.ts";
import { numberToken, restDecimal, secondsTokenToNanos, tradeIdOf } from "./fields.ts";
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
  rows.forEach((row, index) => {
    try {
      trades.push(mapRow(row, pair, receivedAt));
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `Trades ${resultKey}[${index}]: ${err.message}`, index });
    }
  });
  return { resultKey, pair, trades, rowCount: rows.length, last: lastOf(result.last), rejections };
}

function lastOf(v: LosslessValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === "string" ? v : v instanceof JsonNumber ? v.text : undefined;
  if (text === undefined || !/^\d+$/.test(text))
    throw new MappingError(`last is not a ns cursor: ${describe(v)}`);
  return text;
}

function mapRow(row: LosslessValue, pair: PairInfo, receivedAt: string): SequencedTrade {
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
  const timeNs = secondsTokenToNanos(timeToken);
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
    ts: formatMicros(secondsTokenToMicros(timeToken)),
    received_at: receivedAt,
    source: "rest",
  };
  return { message, timeNs };
}
