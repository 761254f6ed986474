/**
 * The trade contract's value rules as silver applies them: every case of the shared table
 * (shared/src/contracts/trade-rule-cases.ts, which the ingester's tests run too) gets the same verdict
 * here, and a quarantined row's reason names the rule. A time before 1970 is quarantined under the hour
 * it floors to.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TRADE_RULE_CASES } from "@tributary/shared/contracts/trade-rule-cases";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { commitBronze } from "../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../testing/temp-lake.ts";
import { runSilverTrades } from "./trades.ts";

let lake: TempLake;
let quarantined: Map<number, { reason: string; hour: string }>;
let accepted: Set<number>;

beforeAll(async () => {
  lake = createTempLake();
  const ingestedAt = parseRfc3339Micros("2024-05-27T12:43:12.000000Z");
  // One bronze row per case; the trade_id is made unique per case where the case leaves it alone.
  await commitBronze(
    lake.commitLog,
    TRADE_RULE_CASES.map((c, i) => ({
      partition: 0,
      offset: i,
      key: "BTC/USD",
      value: c.message.replace('"trade_id":70635299', `"trade_id":${70635299 + i}`),
      ingestedAt,
    })),
  );
  await runSilverTrades(lake.env);
  const q = await lake.query(
    `SELECT kafka_offset::INT AS o, reason, strftime(partition_hour, '%Y-%m-%dT%H') AS h FROM ${lake.scan("silver", "kraken_trades_quarantine")}`,
  );
  quarantined = new Map(q.map((r) => [Number(r.o), { reason: String(r.reason), hour: String(r.h) }]));
  const ok = await lake.query(`SELECT kafka_offset::INT AS o FROM ${lake.scan("silver", "kraken_trades")}`);
  accepted = new Set(ok.map((r) => Number(r.o)));
});
afterAll(() => lake?.cleanup());

for (const [i, c] of TRADE_RULE_CASES.entries()) {
  test(`${c.name}: ${c.rule ? `quarantined (${c.rule})` : "accepted"}`, () => {
    if (c.rule === undefined) {
      expect(quarantined.get(i)).toBeUndefined();
      expect(accepted.has(i)).toBe(true);
    } else {
      expect(accepted.has(i)).toBe(false);
      expect(quarantined.get(i)?.reason).toContain(c.rule);
    }
  });
}

test("1969-12-31T23:59:59.999999Z is quarantined under the hour 1969-12-31T23, not 1970-01-01T00", () => {
  const i = TRADE_RULE_CASES.findIndex((c) => c.name.includes("1969-12-31"));
  expect(quarantined.get(i)?.hour).toBe("1969-12-31T23");
});
