/**
 * REST `/0/public/OHLC` → OHLC contract. Rows are positional
 * `[time, open, high, low, close, vwap, volume, count]` (time and count integers, the rest decimal
 * strings); the last row is the minute still forming and `last` (an integer; a string in one third-party
 * sample) is the time of the last committed row. Only committed rows become candles.
 */
import { OHLC_CONTRACT_VERSION, type OhlcMessage } from "@tributary/shared/contracts/ohlc";
import { isDecimalString } from "@tributary/shared/decimal";
import { formatMicros } from "@tributary/shared/time";
import { isArray, JsonNumber, type LosslessObject, type LosslessValue } from "../lossless-json.ts";
import type { PairInfo, PairRegistry } from "../pairs.ts";
import { integerText } from "./fields.ts";
import { describe, MappingError, type Rejection } from "./mapping.ts";

export interface RestOhlcPage {
  readonly resultKey: string;
  readonly pair: PairInfo;
  /** Committed candles (time ≤ last), oldest first. */
  readonly candles: readonly OhlcMessage[];
  /** Rows after `last`: the forming minute, not a candle yet. */
  readonly forming: number;
  /** Kraken's `last`: unix seconds of the last committed row. */
  readonly last: number;
  readonly rejections: readonly Rejection[];
}

const FIELDS = ["open", "high", "low", "close", "vwap", "volume"] as const;

export function mapRestOhlc(
  result: LosslessObject,
  resultKey: string,
  registry: PairRegistry,
  intervalMinutes: number,
  fetchedAt: string,
): RestOhlcPage {
  const pair = registry.byAnyName(resultKey);
  if (!pair) throw new MappingError(`OHLC result key ${JSON.stringify(resultKey)} is not a known pair`);
  const rows = result[resultKey];
  if (!isArray(rows)) throw new MappingError(`OHLC result ${resultKey} is not an array: ${describe(rows)}`);
  const lastValue = result.last;
  const lastText =
    lastValue instanceof JsonNumber ? lastValue.text : typeof lastValue === "string" ? lastValue : undefined;
  if (lastText === undefined || !/^\d{1,12}$/.test(lastText))
    throw new MappingError(`OHLC last is not unix seconds: ${describe(lastValue)}`);
  const last = Number(lastText);
  const candles: OhlcMessage[] = [];
  const rejections: Rejection[] = [];
  let forming = 0;
  rows.forEach((row, index) => {
    try {
      const candle = mapRow(row, pair, intervalMinutes, fetchedAt);
      if (Date.parse(candle.ts) / 1000 > last) forming++;
      else candles.push(candle);
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      rejections.push({ reason: `OHLC ${resultKey}[${index}]: ${err.message}`, index });
    }
  });
  return { resultKey, pair, candles, forming, last, rejections };
}

function mapRow(row: LosslessValue, pair: PairInfo, intervalMinutes: number, fetchedAt: string): OhlcMessage {
  if (!isArray(row) || row.length !== 8) throw new MappingError(`row is not 8 elements: ${describe(row)}`);
  const time = Number(integerText(row[0], "time"));
  if (!Number.isSafeInteger(time) || time % (intervalMinutes * 60) !== 0)
    throw new MappingError(`time ${time} is not the start of a ${intervalMinutes}-minute interval`);
  const values: Partial<Record<(typeof FIELDS)[number], string>> = {};
  FIELDS.forEach((field, i) => {
    const v = row[i + 1];
    if (typeof v !== "string" || !isDecimalString(v) || v.startsWith("-"))
      throw new MappingError(`${field} is not a non-negative decimal string: ${describe(v)}`);
    values[field] = v;
  });
  const count = Number(integerText(row[7], "count"));
  return {
    v: OHLC_CONTRACT_VERSION,
    exchange: "KRAKEN",
    symbol: pair.symbol,
    interval: intervalMinutes,
    ts: formatMicros(BigInt(time) * 1_000_000n),
    open: values.open as string,
    high: values.high as string,
    low: values.low as string,
    close: values.close as string,
    vwap: values.vwap as string,
    volume: values.volume as string,
    trade_count: count,
    fetched_at: fetchedAt,
  };
}
