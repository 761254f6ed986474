/**
 * WS v2 `ticker` data → ticker contract. Price-like fields are padded to the pair's price precision,
 * sizes to its lot precision, `change_pct` kept as sent; extra digits are kept, never rounded.
 * `timestamp` is optional (2024 captures lack it): `ts` then falls back to the receive time, as the
 * contract documents. `trades` (24h count, newer messages) is not part of the contract.
 */
import { TICKER_CONTRACT_VERSION, type TickerMessage } from "@tributary/shared/contracts/ticker";
import { isArray, type LosslessValue } from "../lossless-json.ts";
import type { PairRegistry } from "../pairs.ts";
import { asObject, rfc3339Field, stringField, wsDecimalAtLeast } from "./fields.ts";
import { describe, type Mapped, MappingError, type Rejection } from "./mapping.ts";

export function mapWsTickers(
  data: LosslessValue,
  registry: PairRegistry,
  receivedAt: string,
): Mapped<TickerMessage> {
  if (!isArray(data)) throw new MappingError(`ticker data is not an array: ${describe(data)}`);
  const records: TickerMessage[] = [];
  const rejections: Rejection[] = [];
  data.forEach((item, index) => {
    try {
      const o = asObject(item, "ticker");
      const symbol = stringField(o, "symbol");
      const pair = registry.bySymbolName(symbol);
      if (!pair) throw new MappingError(`symbol ${JSON.stringify(symbol)} is not a configured pair`);
      const price = (key: string) => wsDecimalAtLeast(o, key, pair.priceDecimals);
      const size = (key: string) => wsDecimalAtLeast(o, key, pair.lotDecimals);
      records.push({
        v: TICKER_CONTRACT_VERSION,
        exchange: "KRAKEN",
        symbol,
        bid: price("bid"),
        bid_qty: size("bid_qty"),
        ask: price("ask"),
        ask_qty: size("ask_qty"),
        last: price("last"),
        volume: size("volume"),
        vwap: price("vwap"),
        low: price("low"),
        high: price("high"),
        change: price("change"),
        change_pct: wsDecimalAtLeast(o, "change_pct", 0),
        ts: o.timestamp === undefined ? receivedAt : rfc3339Field(o, "timestamp")[0],
        received_at: receivedAt,
        source: "ws",
      });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `ticker data[${index}]: ${err.message}`, index });
    }
  });
  return { records, rejections };
}
