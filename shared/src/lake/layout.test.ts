import { describe, expect, test } from "bun:test";
import { testRandom } from "../testing/random.ts";
import { parseRfc3339Micros } from "../time.ts";
import {
  currentLayoutKey,
  dayPartitionPath,
  HOUR_PARTITION_KEYS,
  hourPartitionOf,
  hourPartitionPath,
  pairOfSymbol,
  partitionStartMicros,
  partitionValues,
  partitionValuesOf,
  symbolOfPair,
} from "./layout.ts";

const HOUR = 3_600_000_000n;

describe("lake layout v2", () => {
  test("an hour partition is pair=<path form> under unpadded integer time values", () => {
    const at = parseRfc3339Micros("2026-05-03T07:59:59.999999Z");
    expect(hourPartitionPath(at, pairOfSymbol("BTC/USD"))).toBe(
      "year=2026/month=5/day=3/hour=7/pair=BTC_USD",
    );
    expect(dayPartitionPath(at)).toBe("year=2026/month=5/day=3");
    expect(partitionValuesOf(HOUR_PARTITION_KEYS, at, "BTC_USD")).toEqual({
      year: "2026",
      month: "5",
      day: "3",
      hour: "7",
      pair: "BTC_USD",
    });
  });

  test("times before 1970 floor to their own hour", () => {
    expect(hourPartitionPath(-1n, "ETH_USD")).toBe("year=1969/month=12/day=31/hour=23/pair=ETH_USD");
  });

  test("the pair value maps back to the contract symbol, and only contract symbols map back", () => {
    for (const s of ["BTC/USD", "ETH/USD", "USDT/USD", "1INCH/EUR"])
      expect(symbolOfPair(pairOfSymbol(s))).toBe(s);
    expect(symbolOfPair("_unknown")).toBeUndefined();
    expect(symbolOfPair("UNKNOWN")).toBeUndefined();
    expect(symbolOfPair("A_B_C")).toBeUndefined();
  });

  test("paths built for random hours and pairs parse back to the same hour and pair", () => {
    const { random: rnd } = testRandom("layout-roundtrip");
    for (let i = 0; i < 2000; i++) {
      // Hours from 1684 to 2255, the range bronze partitions exactly.
      const hour = BigInt(Math.floor((rnd() - 0.5) * 2 * 2_500_000)) * HOUR;
      const pair = pairOfSymbol(`${"ABCDEFGH".slice(0, 2 + Math.floor(rnd() * 5))}/USD`);
      const path = `silver/kraken_trades/${hourPartitionPath(hour, pair)}/part-0.parquet`;
      expect(hourPartitionOf(path)).toEqual({ pair, hour });
      expect(partitionStartMicros(partitionValues(path))).toBe(hour);
      expect(currentLayoutKey(path)).toBe(path);
    }
  });

  test("a v1 key (symbol=, zero-padded values) maps to its v2 key; other segments stay", () => {
    expect(
      currentLayoutKey(
        "bronze/kraken_trades/year=2024/month=03/day=09/hour=00/symbol=BTC_USD/kraken.trades-0-00000000000000000042-0.parquet",
      ),
    ).toBe(
      "bronze/kraken_trades/year=2024/month=3/day=9/hour=0/pair=BTC_USD/kraken.trades-0-00000000000000000042-0.parquet",
    );
    expect(currentLayoutKey("gold/candles_1m/symbol=ETH_USD/2024-03-09.parquet")).toBe(
      "gold/candles_1m/pair=ETH_USD/2024-03-09.parquet",
    );
    expect(
      currentLayoutKey("_tributary/silver/kraken_trades/keys/symbol=BTC_USD/bucket=000000000012.parquet"),
    ).toBe("_tributary/silver/kraken_trades/keys/pair=BTC_USD/bucket=000000000012.parquet");
    expect(currentLayoutKey("bronze/cdc_public_t/year=2024/month=04/day=30/x.parquet")).toBe(
      "bronze/cdc_public_t/year=2024/month=4/day=30/x.parquet",
    );
  });
});
