/**
 * The inputs on which the ingester and silver once disagreed (issue 14, point 5), each with the verdict
 * both must give: as a WS v2 trade item (what the ingester reads) and as a trade message (what silver
 * reads from bronze). The ingester's and silver's tests both run this table.
 */
import { TRADE_RULE } from "./trade-rules.ts";

export interface TradeRuleCase {
  readonly name: string;
  /** The rule text a rejection reason contains; undefined: accepted. */
  readonly rule: string | undefined;
  /** A WS v2 `trade` data item for BTC/USD (price precision 1, lot 8). */
  readonly wsItem: string;
  /** The same trade as a `kraken.trades` message value. */
  readonly message: string;
}

const ITEM = {
  symbol: '"BTC/USD"',
  side: '"buy"',
  price: "68500.0",
  qty: "0.01044926",
  ord_type: '"limit"',
  trade_id: "70635299",
  timestamp: '"2024-05-27T12:43:11.798009Z"',
};
const MESSAGE = {
  v: "1",
  exchange: '"KRAKEN"',
  symbol: '"BTC/USD"',
  trade_id: "70635299",
  price: '"68500.0"',
  qty: '"0.01044926"',
  side: '"buy"',
  ord_type: '"limit"',
  ts: '"2024-05-27T12:43:11.798009Z"',
  received_at: '"2024-05-27T12:43:11.901220Z"',
  source: '"ws"',
};

/** Members in order; a repeated name in `extra` is emitted twice (a duplicated key). */
function object(
  base: Record<string, string>,
  over: Record<string, string>,
  extra: [string, string][] = [],
): string {
  const members = Object.entries({ ...base, ...over }).map(([k, v]) => `"${k}":${v}`);
  for (const [k, v] of extra) members.push(`"${k}":${v}`);
  return `{${members.join(",")}}`;
}

function both(
  name: string,
  rule: string | undefined,
  item: Record<string, string>,
  message: Record<string, string>,
  extra: { item?: [string, string][]; message?: [string, string][] } = {},
): TradeRuleCase {
  return {
    name,
    rule,
    wsItem: object(ITEM, item, extra.item),
    message: object(MESSAGE, message, extra.message),
  };
}

const at = (ts: string) => [{ timestamp: `"${ts}"` }, { ts: `"${ts}"` }] as const;

export const TRADE_RULE_CASES: readonly TradeRuleCase[] = [
  both("a valid trade", undefined, {}, {}),
  both("price 0", TRADE_RULE.pricePositive, { price: "0" }, { price: '"0.0"' }),
  both("qty 0", TRADE_RULE.qtyPositive, { qty: "0.00000000" }, { qty: '"0.00000000"' }),
  both(
    "trade_id 2^53+1",
    TRADE_RULE.tradeIdRange,
    { trade_id: "9007199254740993" },
    { trade_id: "9007199254740993" },
  ),
  both(
    "trade_id 2^53-1 (the largest)",
    undefined,
    { trade_id: "9007199254740991" },
    { trade_id: "9007199254740991" },
  ),
  both("ts in year 0001", TRADE_RULE.tsPlausible, ...at("0001-01-01T00:00:00.000000Z")),
  both(
    "ts 1969-12-31T23:59:59.999999Z (negative epoch)",
    TRADE_RULE.tsPlausible,
    ...at("1969-12-31T23:59:59.999999Z"),
  ),
  both("ts just before 2010", TRADE_RULE.tsPlausible, ...at("2009-12-31T23:59:59.999999Z")),
  both("ts at 2010-01-01 (the first plausible µs)", undefined, ...at("2010-01-01T00:00:00.000000Z")),
  both("ts at the last plausible µs", undefined, ...at("2099-12-31T23:59:59.999999Z")),
  both("ts in year 2300", TRADE_RULE.tsPlausible, ...at("2300-01-01T00:00:00.000000Z")),
  both("ts in year 9999", TRADE_RULE.tsPlausible, ...at("9999-12-31T23:59:59.999999Z")),
  both(
    "price given twice (a duplicated JSON key)",
    TRADE_RULE.duplicateKey,
    {},
    {},
    {
      item: [["price", "1.0"]],
      message: [["price", '"1.0"']],
    },
  ),
];
