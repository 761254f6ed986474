/**
 * The Kraken REST envelope `{"error":[…],"result":{…}}`. Errors arrive with HTTP 200, so `error`
 * is checked before `result` is touched; the result key is Kraken's pair id, whatever was asked.
 */
import { classifyApiErrors, KrakenConfigError, KrakenError } from "../errors.ts";
import {
  isArray,
  isObject,
  type LosslessObject,
  type LosslessValue,
  parseLossless,
} from "../lossless-json.ts";

/** Parses a 200 body; throws a KrakenError (`invalid_body`, or the class of the API error). */
export function parseEnvelope(body: string, what: string): LosslessObject {
  let parsed: LosslessValue;
  try {
    parsed = parseLossless(body);
  } catch (err) {
    throw new KrakenError("invalid_body", `${what}: body is not JSON (${(err as Error).message})`, {
      status: 200,
      body,
      cause: err,
    });
  }
  if (!isObject(parsed))
    throw new KrakenError("invalid_body", `${what}: body is not a JSON object`, { body });
  const error = parsed.error;
  if (!isArray(error) || error.some((e) => typeof e !== "string")) {
    throw new KrakenError("invalid_body", `${what}: envelope has no "error" array of strings`, { body });
  }
  const errors = error as readonly string[];
  if (errors.some((e) => e.startsWith("E"))) {
    const kind = classifyApiErrors(errors);
    const message = `${what}: Kraken answered ${errors.join(", ")}`;
    if (kind === "config") throw new KrakenConfigError(message, { errors, body });
    throw new KrakenError(kind, message, { errors, body });
  }
  const result = parsed.result;
  if (!isObject(result))
    throw new KrakenError("invalid_body", `${what}: envelope has no "result" object`, { body });
  return result;
}

/** The one key of a Trades/OHLC result that is not `last` (XXBTZUSD, XBTUSDT, BTC/USD, …). */
export function resultPairKey(result: LosslessObject, what: string): string {
  const keys = Object.keys(result).filter((k) => k !== "last");
  if (keys.length !== 1) {
    throw new KrakenError(
      "invalid_body",
      `${what}: expected exactly one pair key besides "last", found ${JSON.stringify(keys)}`,
    );
  }
  return keys[0] as string;
}
