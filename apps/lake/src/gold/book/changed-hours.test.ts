/**
 * Gold book recomputes the hours the silver snapshot it reads changed, even when silver's journal
 * entry for that snapshot is not there yet (silver commits its snapshot, then appends the entry; a
 * gold run in between, or a silver killed between the two, leaves gold the snapshot alone). The test
 * removes the newest entry before gold runs, then checks gold against a full rebuild.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runSilverBook } from "../../silver/book.ts";
import { SILVER_BOOK_JOB } from "../../silver/datasets.ts";
import { bookMarketMessages } from "../../testing/book-market.ts";
import { type BronzeRecord, commitBronze } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { BOOK_GOLD } from "../datasets.ts";
import { runGoldBook } from "./book.ts";

const START = parseRfc3339Micros("2024-05-01T10:00:00Z");
let lake: TempLake;
beforeAll(() => {
  lake = createTempLake();
});
afterAll(() => lake?.cleanup());

test("an hour silver added before its journal entry exists is recomputed, and gold equals a rebuild", async () => {
  const market = bookMarketMessages({ seed: 7, startMicros: START, minutes: 120, meanGapMs: 20_000 });
  let offset = 0;
  const records = (from: bigint, to: bigint): BronzeRecord[] =>
    market
      .filter((m) => m.tsMicros >= from && m.tsMicros < to)
      .map((m) => ({
        topic: "kraken.book",
        partition: 0,
        offset: offset++,
        key: (JSON.parse(m.json) as { symbol: string }).symbol,
        value: m.json,
        ingestedAt: m.tsMicros + 200_000n,
      }));
  const hour = 3_600_000_000n;
  await commitBronze(lake.commitLog, records(START, START + hour), { dataset: "kraken_book" });
  await runSilverBook(lake.env);
  expect((await runGoldBook(lake.env)).full).toBe(true);

  await commitBronze(lake.commitLog, records(START + hour, START + 2n * hour), { dataset: "kraken_book" });
  await runSilverBook(lake.env);
  const entries: string[] = [];
  for await (const o of lake.store.list(`_tributary/changes/${SILVER_BOOK_JOB}/`)) entries.push(o.key);
  expect(entries.length).toBe(2);
  await lake.store.delete(entries.sort().at(-1) as string);

  const run = await runGoldBook(lake.env);
  expect(run.full).toBe(false);
  expect(run.hours).toBeGreaterThan(0); // the second hour of each symbol
  using held = await lake.hold("gold", [BOOK_GOLD.perSecond, BOOK_GOLD.perMinute, BOOK_GOLD.quality]);
  expect((await runGoldBook(lake.env, { rebuild: true })).full).toBe(true);
  expect(await held.differences()).toEqual([]);
});
