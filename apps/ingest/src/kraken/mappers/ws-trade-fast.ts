/**
 * Fast path for WS v2 trade frames in Kraken's own layout (the key order and spacing Kraken sends),
 * which are nearly all the traffic. A frame that matches the layout completely is valid JSON of known
 * shape, so its fields can be read straight from the text, number tokens included, without a general
 * lossless parse. Anything else — another layout, a bad value, an unknown symbol — returns undefined
 * and takes the general path (classifyWsFrame + mapWsTrades), which produces the same records or the
 * rejections. A test checks both paths agree.
 */
import { TRADE_CONTRACT_VERSION, type TradeMessage } from "@tributary/shared/contracts/trade";
import { tradeRuleViolation } from "@tributary/shared/contracts/trade-rules";
import type { PairRegistry } from "../pairs.ts";
import { rfc3339Text } from "./fields.ts";
import { MappingError } from "./mapping.ts";
import type { SequencedTrade } from "./trade.ts";

const HEAD = '{"channel":"trade","type":"';
const ITEM =
  /\{"symbol":"([A-Z0-9]{1,16}\/[A-Z0-9]{1,16})","side":"(buy|sell)","price":((?:0|[1-9]\d*)(?:\.\d+)?),"qty":((?:0|[1-9]\d*)(?:\.\d+)?),"ord_type":"(limit|market)","trade_id":([1-9]\d{0,15}),"timestamp":"([0-9T:.Z+-]{20,35})"\}/y;

/** Pads or checks `text` to exactly `scale` fractional digits; undefined if that would need rounding. */
export function atScale(text: string, scale: number): string | undefined {
  const dot = text.indexOf(".");
  const frac = dot < 0 ? 0 : text.length - dot - 1;
  if (frac === scale) return text;
  if (frac < scale) return `${dot < 0 ? `${text}.` : text}${"0".repeat(scale - frac)}`;
  const extra = text.slice(text.length - (frac - scale));
  if (!/^0+$/.test(extra)) return undefined;
  const cut = text.slice(0, text.length - (frac - scale));
  return scale === 0 ? cut.slice(0, -1) : cut;
}

export function fastWsTrades(
  text: string,
  registry: PairRegistry,
  receivedAt: string,
): SequencedTrade[] | undefined {
  if (!text.startsWith(HEAD)) return undefined;
  let i = HEAD.length;
  let type: string;
  if (text.startsWith('update","data":[', i)) type = "update";
  else if (text.startsWith('snapshot","data":[', i)) type = "snapshot";
  else return undefined;
  i += type.length + '","data":['.length;
  const out: SequencedTrade[] = [];
  for (;;) {
    if (text.charCodeAt(i) === 93 /* ] */) break;
    ITEM.lastIndex = i;
    const m = ITEM.exec(text);
    if (!m) return undefined;
    const [, symbol = "", side, priceText = "", qtyText = "", ordType, idText = "", ts = ""] = m;
    const pair = registry.bySymbolName(symbol);
    if (!pair) return undefined;
    const price = atScale(priceText, pair.priceDecimals);
    const qty = atScale(qtyText, pair.lotDecimals);
    const tradeId = Number(idText);
    if (price === undefined || qty === undefined) return undefined;
    let canonical: readonly [string, bigint];
    try {
      canonical = rfc3339Text(ts, "timestamp");
    } catch (err) {
      if (err instanceof MappingError) return undefined;
      throw err;
    }
    const message: TradeMessage = {
      v: TRADE_CONTRACT_VERSION,
      exchange: "KRAKEN",
      symbol,
      trade_id: tradeId,
      price,
      qty,
      side: side as "buy" | "sell",
      ord_type: ordType as "limit" | "market",
      ts: canonical[0],
      received_at: receivedAt,
      source: "ws",
    };
    // A trade breaking a contract rule takes the general path, which names the rule.
    if (tradeRuleViolation(message, canonical[1]) !== undefined) return undefined;
    out.push({ message, timeNs: canonical[1] * 1000n });
    i = ITEM.lastIndex;
    if (text.charCodeAt(i) === 44 /* , */ && text.charCodeAt(i + 1) === 123 /* { */) i++;
  }
  return text.length === i + 2 && text.endsWith("]}") ? out : undefined;
}
