/** Which hours a gold book run recomputes for the silver hours that changed. */
import { describe, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { bookHoursByDay, bookHoursOf } from "./hours.ts";

const h = (iso: string): bigint => parseRfc3339Micros(iso);
const show = (hours: ReturnType<typeof bookHoursOf>) =>
  hours.map((x) => `${x.symbol} ${new Date(Number(x.hour / 1000n)).toISOString().slice(11, 13)} ${x.kind}`);

describe("bookHoursOf", () => {
  test("a changed hour: itself whole, the edge of the hour before it confirms and of the hour after it carries into", () => {
    expect(show(bookHoursOf([{ symbol: "BTC_USD", hour: h("2024-05-01T10:00:00Z") }], false))).toEqual([
      "BTC_USD 09 confirm",
      "BTC_USD 10 whole",
      "BTC_USD 11 carry",
    ]);
  });

  test("two hours apart: the hour between is both edges, hence whole; symbols stay apart", () => {
    const changed = [
      { symbol: "BTC_USD", hour: h("2024-05-01T10:00:00Z") },
      { symbol: "BTC_USD", hour: h("2024-05-01T12:00:00Z") },
      { symbol: "ETH_USD", hour: h("2024-05-01T12:00:00Z") },
      { symbol: "BTC_USD", hour: h("2024-05-01T12:00:00Z") },
    ];
    expect(show(bookHoursOf(changed, false))).toEqual([
      "BTC_USD 09 confirm",
      "BTC_USD 10 whole",
      "BTC_USD 11 whole",
      "ETH_USD 11 confirm",
      "BTC_USD 12 whole",
      "ETH_USD 12 whole",
      "BTC_USD 13 carry",
      "ETH_USD 13 carry",
    ]);
  });

  test("a full run recomputes every hour whole; a change at midnight touches two days", () => {
    const hours = bookHoursOf([{ symbol: "BTC_USD", hour: h("2024-05-02T00:00:00Z") }], true);
    expect(show(hours)).toEqual(["BTC_USD 23 whole", "BTC_USD 00 whole", "BTC_USD 01 whole"]);
    expect(bookHoursByDay(hours).map(([day, list]) => [day, list.length])).toEqual([
      [h("2024-05-01T00:00:00Z"), 1],
      [h("2024-05-02T00:00:00Z"), 2],
    ]);
  });
});
