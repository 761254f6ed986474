/**
 * WS v2 `trade` data → trade contract. Prices and quantities arrive as JSON numbers that lose trailing
 * zeros; they are rebuilt from the raw token text at the pair's precision (never through a float).
 */
import { TRADE_CONTRACT_VERSION, type TradeMessage } from "@tributary/shared/contracts/trade";
import { tradeRuleViolation } from "@tributary/shared/contracts/trade-rules";
import { isArray, type LosslessValue } from "../lossless-json.ts";
import type { PairRegistry } from "../pairs.ts";
import { asObject, oneOf, rfc3339Field, stringField, tradeIdOf, wsDecimal } from "./fields.ts";
import { describe, type Mapped, MappingError, type Rejection } from "./mapping.ts";
import type { SequencedTrade } from "./trade.ts";

export function mapWsTrades(
  data: LosslessValue,
  registry: PairRegistry,
  receivedAt: string,
): Mapped<SequencedTrade> {
  if (!isArray(data)) throw new MappingError(`trade data is not an array: ${describe(data)}`);
  const records: SequencedTrade[] = [];
  const rejections: Rejection[] = [];
  data.forEach((item, index) => {
    try {
      const o = asObject(item, "trade");
      const symbol = stringField(o, "symbol");
      const pair = registry.bySymbolName(symbol);
      if (!pair) throw new MappingError(`symbol ${JSON.stringify(symbol)} is not a configured pair`);
      const [ts, micros] = rfc3339Field(o, "timestamp");
      const message: TradeMessage = {
        v: TRADE_CONTRACT_VERSION,
        exchange: "KRAKEN",
        symbol,
        trade_id: tradeIdOf(o.trade_id, "trade_id"),
        price: wsDecimal(o, "price", pair.priceDecimals),
        qty: wsDecimal(o, "qty", pair.lotDecimals),
        side: oneOf(stringField(o, "side"), ["buy", "sell"] as const, "side"),
        ord_type: oneOf(stringField(o, "ord_type"), ["market", "limit"] as const, "ord_type"),
        ts,
        received_at: receivedAt,
        source: "ws",
      };
      const broken = tradeRuleViolation(message, micros);
      if (broken) throw new MappingError(broken);
      records.push({ message, timeNs: micros * 1000n });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `trade data[${index}]: ${err.message}`, index });
    }
  });
  return { records, rejections };
}
