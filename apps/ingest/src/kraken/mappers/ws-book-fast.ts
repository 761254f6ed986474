/**
 * Fast path for WS v2 book frames in Kraken's own layout (the key order and spacing Kraken sends, as
 * in the recorded capture): nearly all the book traffic is such updates, and a frame that matches the
 * layout completely is valid JSON of known shape, so its fields can be read straight from the text,
 * number tokens included, without the general lossless parse. Anything else — another layout, a number
 * that is not a plain decimal, more digits than the pair's precision, an unknown symbol, a checksum
 * beyond 32 bits, a bad timestamp — returns undefined and takes the general path (classifyWsFrame +
 * mapWsBook), which gives the same items or the rejections. A test checks both paths agree.
 */
import type { BookLevel } from "@tributary/shared/contracts/book";
import type { PairInfo, PairRegistry } from "../pairs.ts";
import { rfc3339Text } from "./fields.ts";
import { MappingError } from "./mapping.ts";
import type { WsBookItem } from "./ws-book.ts";
import { atScale } from "./ws-trade-fast.ts";

const HEAD = '{"channel":"book","type":"';
const ITEM_HEAD = /\{"symbol":"([A-Z0-9]{1,16}\/[A-Z0-9]{1,16})","bids":\[/y;
const LEVEL = /\{"price":((?:0|[1-9]\d*)(?:\.\d+)?),"qty":((?:0|[1-9]\d*)(?:\.\d+)?)\}/y;
const ITEM_TAIL = /\],"checksum":(0|[1-9]\d{0,9})(?:,"timestamp":"([0-9T:.Z+-]{20,35})")?\}/y;
const ASKS = '],"asks":[';
const U32_MAX = 4_294_967_295;

export interface FastBookFrame {
  readonly type: "snapshot" | "update";
  readonly items: readonly WsBookItem[];
}

export function fastWsBook(text: string, registry: PairRegistry): FastBookFrame | undefined {
  if (!text.startsWith(HEAD)) return undefined;
  let i = HEAD.length;
  let type: "snapshot" | "update";
  if (text.startsWith('update","data":[', i)) type = "update";
  else if (text.startsWith('snapshot","data":[', i)) type = "snapshot";
  else return undefined;
  i += type.length + '","data":['.length;
  const items: WsBookItem[] = [];
  while (text.charCodeAt(i) !== 93 /* ] */) {
    ITEM_HEAD.lastIndex = i;
    const head = ITEM_HEAD.exec(text);
    const symbol = head?.[1] ?? "";
    const pair = registry.bySymbolName(symbol);
    if (!pair) return undefined;
    const bids = levelsAt(text, ITEM_HEAD.lastIndex, pair);
    if (!bids || !text.startsWith(ASKS, bids.end)) return undefined;
    const asks = levelsAt(text, bids.end + ASKS.length, pair);
    if (!asks) return undefined;
    ITEM_TAIL.lastIndex = asks.end;
    const tail = ITEM_TAIL.exec(text);
    const checksum = Number(tail?.[1] ?? Number.NaN);
    if (!tail || !(checksum <= U32_MAX)) return undefined;
    let ts: string | undefined;
    if (tail[2] !== undefined) {
      try {
        ts = rfc3339Text(tail[2], "timestamp")[0];
      } catch (err) {
        if (err instanceof MappingError) return undefined;
        throw err;
      }
    }
    items.push({ symbol, bids: bids.levels, asks: asks.levels, checksum, ts });
    i = ITEM_TAIL.lastIndex;
    if (text.charCodeAt(i) === 44 /* , */ && text.charCodeAt(i + 1) === 123 /* { */) i++;
  }
  return text.length === i + 2 && text.endsWith("]}") ? { type, items } : undefined;
}

/** The `{"price":…,"qty":…}` levels from `start` up to (not including) the closing `]`. */
function levelsAt(
  text: string,
  start: number,
  pair: PairInfo,
): { levels: BookLevel[]; end: number } | undefined {
  const levels: BookLevel[] = [];
  let i = start;
  while (text.charCodeAt(i) === 123 /* { */) {
    LEVEL.lastIndex = i;
    const m = LEVEL.exec(text);
    if (!m) return undefined;
    const price = atScale(m[1] as string, pair.priceDecimals);
    const qty = atScale(m[2] as string, pair.lotDecimals);
    if (price === undefined || qty === undefined) return undefined;
    levels.push([price, qty] as const);
    i = LEVEL.lastIndex;
    if (text.charCodeAt(i) === 44 /* , */) {
      i++;
      if (text.charCodeAt(i) !== 123) return undefined;
    }
  }
  return { levels, end: i };
}
