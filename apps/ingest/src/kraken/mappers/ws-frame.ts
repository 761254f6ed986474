/**
 * WS v2 frame classification. Every server message is one of: status, heartbeat, pong, a request
 * answer (subscribe/unsubscribe ack or error), or channel data. Anything else is unrecognized and goes
 * to the dead-letter topic. `connection_id` is a u64, kept as text (it exceeds 2^53).
 */
import {
  DuplicateKeyError,
  isArray,
  isObject,
  JsonNumber,
  type LosslessValue,
  parseLossless,
} from "../lossless-json.ts";
import { describe, MappingError } from "./mapping.ts";

export type WsFrame =
  | {
      readonly kind: "status";
      readonly system: string;
      readonly version: string | undefined;
      readonly connectionId: string | undefined;
    }
  | { readonly kind: "heartbeat" }
  | { readonly kind: "pong"; readonly reqId: number | undefined }
  | {
      readonly kind: "ack";
      readonly method: string;
      readonly channel: string | undefined;
      readonly symbol: string | undefined;
      readonly reqId: number | undefined;
    }
  | {
      readonly kind: "request_error";
      readonly method: string;
      readonly error: string;
      readonly symbol: string | undefined;
      readonly reqId: number | undefined;
    }
  | {
      readonly kind: "data";
      readonly channel: string;
      readonly type: "snapshot" | "update";
      readonly data: LosslessValue;
    };

/** Channels whose data we understand; others (book, ohlc, …) are never subscribed, so they are unexpected. */
const DATA_CHANNELS = new Set(["trade", "ticker", "instrument", "book", "ohlc"]);

/** Parses and classifies one text frame; throws MappingError (or SyntaxError) for anything unrecognized. */
export function classifyWsFrame(text: string): WsFrame {
  let v: LosslessValue;
  try {
    v = parseLossless(text);
  } catch (err) {
    // A repeated key is a rule of the trade contract (trade-rules.ts): its reason starts "duplicate key".
    if (err instanceof DuplicateKeyError) throw new MappingError(`${err.message} in the frame`);
    throw new MappingError(`frame is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(v)) throw new MappingError(`frame is not a JSON object: ${describe(v)}`);
  const channel = v.channel;
  const method = v.method;
  if (typeof channel === "string") {
    if (channel === "heartbeat") return { kind: "heartbeat" };
    const type = v.type;
    if (channel === "status") {
      const first = isArray(v.data) ? v.data[0] : undefined;
      if (!isObject(first) || typeof first.system !== "string") {
        throw new MappingError(`status frame without data[0].system: ${describe(v.data)}`);
      }
      const id = first.connection_id;
      return {
        kind: "status",
        system: first.system,
        version: typeof first.version === "string" ? first.version : undefined,
        connectionId: id instanceof JsonNumber ? id.text : undefined,
      };
    }
    if (!DATA_CHANNELS.has(channel)) throw new MappingError(`unknown channel ${JSON.stringify(channel)}`);
    if (type !== "snapshot" && type !== "update") {
      throw new MappingError(`${channel} frame has type ${describe(type)}, expected snapshot or update`);
    }
    if (v.data === undefined) throw new MappingError(`${channel} frame has no data`);
    return { kind: "data", channel, type, data: v.data };
  }
  if (typeof method === "string") {
    const reqId =
      v.req_id instanceof JsonNumber && /^\d+$/.test(v.req_id.text) ? Number(v.req_id.text) : undefined;
    if (method === "pong") return { kind: "pong", reqId };
    const success = v.success;
    if (success === true) {
      const result = isObject(v.result) ? v.result : undefined;
      return {
        kind: "ack",
        method,
        channel: typeof result?.channel === "string" ? result.channel : undefined,
        symbol: typeof result?.symbol === "string" ? result.symbol : undefined,
        reqId,
      };
    }
    if (success === false) {
      const result = isObject(v.result) ? v.result : undefined;
      const symbol = typeof v.symbol === "string" ? v.symbol : result?.symbol;
      return {
        kind: "request_error",
        method,
        error: typeof v.error === "string" ? v.error : describe(v.error),
        symbol: typeof symbol === "string" ? symbol : undefined,
        reqId,
      };
    }
    throw new MappingError(`${method} answer without a boolean success: ${describe(success)}`);
  }
  throw new MappingError("frame has neither channel nor method");
}
