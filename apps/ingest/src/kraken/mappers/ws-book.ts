/**
 * WS v2 `book` data → typed book items. Prices and quantities are read from the raw number tokens and
 * rebuilt at exactly the pair's precisions (Kraken's checksum needs the trailing zeros JSON.parse would
 * lose); a value with more digits than the precision is refused, never rounded. The snapshot's
 * `timestamp` is optional (the 2023 capture has none).
 */
import type { BookLevel } from "@tributary/shared/contracts/book";
import { isArray, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import type { PairInfo, PairRegistry } from "../pairs.ts";
import { asObject, numberToken, rfc3339Field, stringField, wsDecimal } from "./fields.ts";
import { describe, type Mapped, MappingError, type Rejection } from "./mapping.ts";

export interface WsBookItem {
  readonly symbol: string;
  readonly bids: readonly BookLevel[];
  readonly asks: readonly BookLevel[];
  /** Kraken's CRC32, unsigned. */
  readonly checksum: number;
  /** Exchange time, canonical RFC 3339 µs; undefined when Kraken sent none. */
  readonly ts: string | undefined;
}

const U32_MAX = 4_294_967_295;

export function mapWsBook(data: LosslessValue, registry: PairRegistry): Mapped<WsBookItem> {
  if (!isArray(data)) throw new MappingError(`book data is not an array: ${describe(data)}`);
  const records: WsBookItem[] = [];
  const rejections: Rejection[] = [];
  data.forEach((item, index) => {
    try {
      const o = asObject(item, "book");
      const symbol = stringField(o, "symbol");
      const pair = registry.bySymbolName(symbol);
      if (!pair) throw new MappingError(`symbol ${JSON.stringify(symbol)} is not a configured pair`);
      const checksumText = numberToken(o.checksum, "checksum");
      const checksum = Number(checksumText);
      if (!/^\d+$/.test(checksumText) || checksum > U32_MAX)
        throw new MappingError(`checksum ${checksumText} is not an unsigned 32-bit integer`);
      records.push({
        symbol,
        bids: levels(o, "bids", pair),
        asks: levels(o, "asks", pair),
        checksum,
        ts: o.timestamp === undefined ? undefined : rfc3339Field(o, "timestamp")[0],
      });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `book data[${index}]: ${err.message}`, index });
    }
  });
  return { records, rejections };
}

function levels(o: LosslessObject, key: "bids" | "asks", pair: PairInfo): BookLevel[] {
  const list = o[key];
  if (!isArray(list)) throw new MappingError(`${key} is not an array: ${describe(list)}`);
  return list.map((level, i) => {
    const l = asObject(level, `${key}[${i}]`);
    try {
      return [wsDecimal(l, "price", pair.priceDecimals), wsDecimal(l, "qty", pair.lotDecimals)] as const;
    } catch (err) {
      if (err instanceof MappingError) throw new MappingError(`${key}[${i}].${err.message}`);
      throw err;
    }
  });
}
