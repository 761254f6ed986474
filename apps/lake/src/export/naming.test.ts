import { describe, expect, test } from "bun:test";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import {
  checkPattern,
  csvRelativePath,
  localHourOf,
  localHoursOfUtcHour,
  utcRangesOfLocalHour,
} from "./naming.ts";

const DEFAULT = "KRAKEN/{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv";

describe("CSV file names", () => {
  test("HH_DD_MM_YY: 14_11_04_22 is 11 April 2022, 14:00-14:59 UTC", () => {
    const h = localHourOf(parseRfc3339Micros("2022-04-11T14:59:59.999999Z"), "UTC");
    expect(csvRelativePath(DEFAULT, h, "BTC_USD")).toBe("KRAKEN/14_11_04_22_BTC_USD.csv");
    const ranges = utcRangesOfLocalHour(h, "UTC");
    expect(ranges.map((r) => [formatMicros(r.from), formatMicros(r.to)])).toEqual([
      ["2022-04-11T14:00:00.000000Z", "2022-04-11T15:00:00.000000Z"],
    ]);
  });

  test("a local time zone names the file by the local hour", () => {
    const h = localHourOf(parseRfc3339Micros("2022-04-11T14:30:00Z"), "America/Sao_Paulo");
    expect(csvRelativePath(DEFAULT, h, "BTC_USD")).toBe("KRAKEN/11_11_04_22_BTC_USD.csv");
  });

  test("a half-hour offset splits a UTC hour over two local files", () => {
    const hours = localHoursOfUtcHour(parseRfc3339Micros("2022-04-11T14:00:00Z"), "Asia/Kolkata");
    expect(hours.map((h) => csvRelativePath(DEFAULT, h, "X"))).toEqual([
      "KRAKEN/19_11_04_22_X.csv",
      "KRAKEN/20_11_04_22_X.csv",
    ]);
    const ranges = utcRangesOfLocalHour({ year: 2022, month: 4, day: 11, hour: 20 }, "Asia/Kolkata");
    expect(ranges.map((r) => formatMicros(r.from))).toEqual(["2022-04-11T14:30:00.000000Z"]);
  });

  test("daylight saving: the repeated hour holds two UTC hours, the skipped hour has none", () => {
    // New York, 6 November 2022: 01:00-01:59 happens twice (EDT, then EST).
    const repeated = utcRangesOfLocalHour({ year: 2022, month: 11, day: 6, hour: 1 }, "America/New_York");
    expect(repeated.map((r) => [formatMicros(r.from), formatMicros(r.to)])).toEqual([
      ["2022-11-06T05:00:00.000000Z", "2022-11-06T07:00:00.000000Z"],
    ]);
    // 13 March 2022: 02:00-02:59 does not exist.
    expect(utcRangesOfLocalHour({ year: 2022, month: 3, day: 13, hour: 2 }, "America/New_York")).toEqual([]);
  });

  test("a pattern must name one file per symbol and hour, inside the export directory", () => {
    expect(() => checkPattern(DEFAULT)).not.toThrow();
    expect(() => checkPattern("{YYYY}/{MM}/{DD}/{HH}_{SYMBOL}.csv")).not.toThrow();
    expect(() => checkPattern("KRAKEN/{DD}_{MM}_{YY}_{SYMBOL}.csv")).toThrow("{HH}");
    expect(() => checkPattern("../{HH}_{DD}_{MM}_{YY}_{SYMBOL}.csv")).toThrow("relative path");
    expect(() => checkPattern("{HH}_{DD}_{MM}_{YY}_{SYMBOL}_{MINUTE}.csv")).toThrow(
      "unknown placeholders: MINUTE",
    );
  });
});
