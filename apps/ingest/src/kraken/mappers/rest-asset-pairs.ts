/** REST `/0/public/AssetPairs` result → pair registry entries (pairs without a `wsname` are skipped). */
import { isObject, JsonNumber, type LosslessObject } from "../lossless-json.ts";
import { type PairInfo, v2SymbolFromWsname } from "../pairs.ts";
import { stringField } from "./fields.ts";
import { describe, type Mapped, MappingError, type Rejection } from "./mapping.ts";

export function mapAssetPairs(result: LosslessObject): Mapped<PairInfo> {
  const records: PairInfo[] = [];
  const rejections: Rejection[] = [];
  for (const [pairId, entry] of Object.entries(result)) {
    try {
      if (!isObject(entry)) throw new MappingError(`entry is not an object: ${describe(entry)}`);
      // Dark-pool and some index pairs have no WS name: they cannot be streamed, so they are not pairs for us.
      if (entry.wsname === undefined) continue;
      const wsname = stringField(entry, "wsname");
      const status = entry.status;
      records.push({
        pairId,
        altname: stringField(entry, "altname"),
        wsname,
        symbol: v2SymbolFromWsname(wsname),
        priceDecimals: decimals(entry, "pair_decimals"),
        lotDecimals: decimals(entry, "lot_decimals"),
        ...(typeof status === "string" ? { status } : {}),
      });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `AssetPairs ${pairId}: ${err.message}` });
    }
  }
  return { records, rejections };
}

function decimals(o: LosslessObject, key: string): number {
  const v = o[key];
  if (!(v instanceof JsonNumber) || !/^\d{1,2}$/.test(v.text)) {
    throw new MappingError(`${key} is not a small non-negative integer: ${describe(v)}`);
  }
  return Number(v.text);
}
