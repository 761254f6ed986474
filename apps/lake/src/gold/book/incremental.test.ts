/**
 * Gold book runs cost what changed: a synthetic two-symbol market of seven hours across midnight
 * lands in batches (a live lake), then silver changes late in single hours (sessions the ingester
 * replays, malformed messages). Each run must recompute the changed hour whole and only the edges of
 * its neighbours, read the silver hours of their windows and nothing else, keep the other rows of
 * the day files, and leave gold identical, row for row and type for type, to a full rebuild.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { isRecord, loadJobState, saveJobState } from "../../runtime/job-state.ts";
import { runSilverBook } from "../../silver/book.ts";
import { bookMarketMessages } from "../../testing/book-market.ts";
import { type BronzeRecord, commitBronze } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { GOLD_BOOK_JOB, type GoldBookRunResult, runGoldBook } from "./book.ts";

const START = parseRfc3339Micros("2024-05-01T19:00:00Z");
const MINUTES = 7 * 60;
const at = (iso: string): bigint => parseRfc3339Micros(iso);

let lake: TempLake;
let offset = 0;
const record = (json: string, tsMicros: bigint): BronzeRecord => ({
  topic: "kraken.book",
  partition: 0,
  offset: offset++,
  key: (JSON.parse(json) as { symbol: string }).symbol,
  value: json,
  ingestedAt: tsMicros + 200_000n,
});

const level = (p: number, q: string): [string, string] => [p.toFixed(1), q];

/** A BTC/USD book message: a snapshot at seq 0, else an update of the best bid. */
const bookJson = (session: string, seq: number, ts: bigint): string =>
  JSON.stringify({
    v: 1,
    exchange: "KRAKEN",
    symbol: "BTC/USD",
    type: seq === 0 ? "snapshot" : "update",
    session,
    seq,
    depth: 10,
    bids:
      seq === 0
        ? [level(59_990, "1.00000000"), level(59_980, "2.00000000")]
        : [level(59_995 - seq, "0.50000000")],
    asks: seq === 0 ? [level(60_010, "1.50000000")] : [],
    checksum: 0,
    checksum_status: "ok",
    ts: formatMicros(ts),
    received_at: formatMicros(ts),
    source: "ws",
  });

/** A session the ingester opened late (a replayed connection): a snapshot and updates. */
const lateSession = (session: string, times: readonly bigint[]): BronzeRecord[] =>
  times.map((ts, seq) => record(bookJson(session, seq, ts), ts));

/** A message the silver job quarantines (depth 7), counted in its hour's health row. */
const malformed = (ts: bigint): BronzeRecord =>
  record(bookJson("bad", 0, ts).replace('"depth":10', '"depth":7'), ts);

async function land(records: readonly BronzeRecord[]): Promise<GoldBookRunResult> {
  await commitBronze(lake.commitLog, records, { dataset: "kraken_book" });
  await runSilverBook(lake.env);
  return runGoldBook(lake.env);
}

/** A full rebuild leaves every row and column type of the three datasets as the incremental runs left them. */
async function expectRebuildIdentical(): Promise<void> {
  using incremental = await lake.hold("gold", ["book_1s", "book_1m", "book_quality_hourly"]);
  expect((await runGoldBook(lake.env, { rebuild: true })).full).toBe(true);
  expect(await incremental.differences()).toEqual([]);
}

const rowAt = async (second: string) =>
  lake.query(`SELECT session, seq::INT AS seq, bid::VARCHAR AS bid FROM ${lake.scan("gold", "book_1s")}
WHERE symbol = 'BTC/USD' AND second = '${second}'::TIMESTAMPTZ`);

const liveRuns: GoldBookRunResult[] = [];

beforeAll(async () => {
  lake = createTempLake();
  const market = bookMarketMessages({ seed: 23, startMicros: START, minutes: MINUTES, meanGapMs: 12_000 });
  // Batches cut every 47 minutes, a gold run after each, as the scheduler runs them.
  const cut = (i: number): bigint => START + BigInt(i) * 47n * 60_000_000n;
  for (let i = 1; cut(i - 1) < START + BigInt(MINUTES) * 60_000_000n; i++) {
    const batch = market.filter((m) => m.tsMicros >= cut(i - 1) && m.tsMicros < cut(i));
    liveRuns.push(await land(batch.map((m) => record(m.json, m.tsMicros))));
  }
});
afterAll(() => lake?.cleanup());

describe("gold book recomputes the hours silver changed", () => {
  test("live batches: each run recomputes the hours its batch touched, and gold equals a full rebuild", async () => {
    expect(liveRuns.length).toBe(Math.ceil(MINUTES / 47));
    // A 47-minute batch touches one or two hours per symbol, and an edge on either side (whole
    // when the day file it would keep the rest of is not written yet): never a day.
    expect(liveRuns[0]?.full).toBe(true);
    for (const r of liveRuns.slice(1)) {
      expect(r.full).toBe(false);
      expect(r.hours).toBeLessThanOrEqual(2 * 3);
      expect(r.hours + r.edgeHours).toBeLessThanOrEqual(2 * 4);
    }
    await expectRebuildIdentical();
  });

  test("a change in one mid-day hour recomputes it and its neighbours' edges, reading five silver hours", async () => {
    const before = await rowAt("2024-05-01T22:30:11Z");
    const r = await land([
      ...lateSession("late-1", [
        at("2024-05-01T22:30:10Z"),
        at("2024-05-01T22:30:11Z"),
        at("2024-05-01T22:30:12Z"),
      ]),
      malformed(at("2024-05-01T22:40:00Z")),
    ]);
    // 22:00 whole, 21:00 from its last events on, 23:00 up to its first checkpoint: one symbol, one day.
    expect(r).toMatchObject({ full: false, days: 1, hours: 1, edgeHours: 2 });
    expect(r.seconds).toBeGreaterThan(3_600);
    expect(r.seconds).toBeLessThan(3_600 + 2 * 120);
    // Events of 20:00–00:00, checkpoints of 20:00–23:00, the quarantine of 22:00 (the old code: a day).
    expect(r.silverFiles).toBe(5 + 4 + 1);
    // The late session knows the book from its snapshot until its last update.
    expect(await rowAt("2024-05-01T22:30:11Z")).toEqual([
      { session: "late-1", seq: 1, bid: "59994.0000000000" },
    ]);
    expect(before).not.toEqual(await rowAt("2024-05-01T22:30:11Z"));
    const q = await lake.query(`SELECT quarantined::INT AS n FROM ${lake.scan("gold", "book_quality_hourly")}
WHERE symbol = 'BTC/USD' AND hour = '2024-05-01T22:00:00Z'::TIMESTAMPTZ`);
    expect(q).toEqual([{ n: 1 }]);
    await expectRebuildIdentical();
  });

  test("a change in the first hour of a day recomputes the last seconds of the day before", async () => {
    const r = await land(
      lateSession("late-2", [
        at("2024-05-02T00:10:00Z"),
        at("2024-05-02T00:10:01Z"),
        at("2024-05-02T00:10:02Z"),
      ]),
    );
    // 00:00 whole, 01:00 carried, 23:00 (the other day's file) confirmed. Each day reads its hours'
    // windows: events 22:00–00:00 and checkpoints 22:00–23:00 for 23:00; events 23:00–02:00 and
    // checkpoints 23:00–01:00 for 00:00 and 01:00 (the market ends just after 02:00).
    expect(r).toMatchObject({ full: false, days: 2, hours: 1, edgeHours: 2, silverFiles: 3 + 2 + 4 + 3 });
    await expectRebuildIdentical();
  });

  test("an hour whose book is carried in from a checkpoint of the hour before, recomputed alone", async () => {
    // The book of 21:00:00 comes from a chain that starts at a checkpoint of 20:00.
    const carried = await rowAt("2024-05-01T21:00:00Z");
    const [first] = carried;
    expect(first).toBeDefined();
    const [chain] =
      await lake.query(`SELECT max(ts)::VARCHAR AS ts FROM ${lake.scan("silver", "kraken_book_checkpoints")}
WHERE symbol = 'BTC/USD' AND session = '${first?.session}' AND seq <= ${first?.seq}`);
    expect(String(chain?.ts) >= "2024-05-01 20:00:00" && String(chain?.ts) < "2024-05-01 21:00:00").toBe(
      true,
    );
    const r = await land([malformed(at("2024-05-01T21:20:00Z"))]);
    // Events 19:00–23:00, checkpoints 19:00–22:00, the quarantine of 21:00 and of 22:00 (test above).
    expect(r).toMatchObject({ full: false, days: 1, hours: 1, edgeHours: 2, silverFiles: 5 + 4 + 2 });
    expect(await rowAt("2024-05-01T21:00:00Z")).toEqual(carried);
    await expectRebuildIdentical();
  });

  test("an event that confirms the last seconds of the hour before recomputes only them", async () => {
    // late-c's update at 21:59:59 is known only once its next event lands (22:00:05); late-d took
    // silver's open book meanwhile, so that event adds no checkpoint to 21:00: 21:00 is only an edge.
    await land([
      ...lateSession("late-c", [at("2024-05-01T21:59:58Z"), at("2024-05-01T21:59:59Z")]),
      ...lateSession("late-d", [at("2024-05-02T01:30:00Z")]),
    ]);
    const unconfirmed = await rowAt("2024-05-01T21:59:59Z");
    expect(unconfirmed.map((r) => r.session)).not.toEqual(["late-c"]);
    const r = await land([
      record(bookJson("late-c", 2, at("2024-05-01T22:00:05Z")), at("2024-05-01T22:00:05Z")),
    ]);
    expect(r).toMatchObject({ full: false, days: 1, hours: 1, edgeHours: 2 });
    // The later state wins the second: late-c's, now confirmed.
    expect(await rowAt("2024-05-01T21:59:59Z")).toEqual([
      { session: "late-c", seq: 1, bid: "59994.0000000000" },
    ]);
    await expectRebuildIdentical();
  });

  test("a session whose snapshot is stamped after its first update across an hour makes both hours whole", async () => {
    // The snapshot (seq 0) is stamped 00:00:00.100, its first update (seq 1) 23:59:59.900.
    await land(
      lateSession("late-3", [
        at("2024-05-02T00:00:00.100Z"),
        at("2024-05-01T23:59:59.900Z"),
        at("2024-05-02T00:00:01Z"),
      ]),
    );
    await expectRebuildIdentical();
    // A later change in 00:00 alone: 23:00 holds an event after 00:00's snapshot in seq order, so
    // it cannot keep its first seconds (their effective times depend on 00:00): it is whole too.
    const r = await land([malformed(at("2024-05-02T00:30:00Z"))]);
    expect(r).toMatchObject({ full: false, days: 2, hours: 2, edgeHours: 1 });
    await expectRebuildIdentical();
  });

  test("gold written by the whole-day design (state v1) is rebuilt once, then runs are incremental again", async () => {
    const state = await loadJobState(lake.store, GOLD_BOOK_JOB, isRecord);
    await saveJobState(lake.store, GOLD_BOOK_JOB, { ...state, v: 1 });
    expect((await runGoldBook(lake.env)).full).toBe(true);
    expect((await land([malformed(at("2024-05-01T20:20:00Z"))])).full).toBe(false);
  });
});
