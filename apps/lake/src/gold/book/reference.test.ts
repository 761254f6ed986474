/**
 * Gold book against an independent recomputation (reference.ts: a Map-per-side replay from each
 * snapshot, bigint arithmetic) from the same silver events: the recorded 2023 capture, and a seeded
 * synthetic market of two symbols at depths 10 and 25 across midnight, with ghosts (levels cancelled
 * beyond the depth), a snapshot stamped after its first updates, a checksum mismatch followed by
 * unverified updates and a new session, and a WebSocket drop. Silver and gold run incrementally after
 * each of several batches; the result must equal the reference exactly (DOUBLE ratios within 1e-9),
 * and a full rebuild must give identical gold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runSilverBook } from "../../silver/book.ts";
import { bookCaptureMessages, bookRecord } from "../../testing/book-capture.ts";
import { bookMarketMessages } from "../../testing/book-market.ts";
import { type BronzeRecord, commitBronze } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { runGoldBook } from "./book.ts";
import {
  REFERENCE_BANDS,
  type ReferenceBookEvent,
  referenceBookMinutes,
  referenceBookQuality,
  referenceBookSeconds,
} from "./reference.ts";

const BANDS = REFERENCE_BANDS.map((b) => `${b}bps`);

function asEvent(json: string): ReferenceBookEvent {
  const m = JSON.parse(json) as Omit<ReferenceBookEvent, "tsMicros" | "status"> & {
    ts: string;
    checksum_status: ReferenceBookEvent["status"];
  };
  return { ...m, tsMicros: parseRfc3339Micros(m.ts), status: m.checksum_status };
}

const near = (a: unknown, b: number | null): boolean =>
  b === null ? a === null : typeof a === "number" && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/** Gold rows as the reference's shape: exact decimals as text, ratios checked within 1e-9. */
async function goldSeconds(lake: TempLake) {
  const rows = await lake.query(`SELECT symbol, epoch_us(second)::VARCHAR AS us, * EXCLUDE (symbol, second)
FROM ${lake.scan("gold", "book_1s")} ORDER BY symbol, second`);
  return rows.map((r) => ({
    exact: {
      symbol: r.symbol,
      second: BigInt(String(r.us)),
      session: r.session,
      seq: Number(r.seq),
      updates: Number(r.updates),
      bidLevels: r.bid_levels,
      askLevels: r.ask_levels,
      bid: r.bid,
      bidQty: r.bid_qty,
      ask: r.ask,
      askQty: r.ask_qty,
      spread: r.spread,
      mid: r.mid,
      microprice: r.microprice,
      depths: BANDS.map((b) => [r[`bid_depth_${b}`], r[`ask_depth_${b}`]]),
    },
    ratios: [r.spread_bps, r.imbalance, ...BANDS.map((b) => r[`depth_imbalance_${b}`])],
  }));
}

async function expectGoldEqualsReference(lake: TempLake, events: readonly ReferenceBookEvent[]) {
  const ref = referenceBookSeconds(events);
  const gold = await goldSeconds(lake);
  expect(gold.map((g) => g.exact)).toEqual(
    ref.map((r) => ({
      symbol: r.symbol,
      second: r.second,
      session: r.session,
      seq: r.seq,
      updates: r.updates,
      bidLevels: r.bidLevels,
      askLevels: r.askLevels,
      bid: r.bid,
      bidQty: r.bidQty,
      ask: r.ask,
      askQty: r.askQty,
      spread: r.spread,
      mid: r.mid,
      microprice: r.microprice,
      depths: r.bands.map(([b, a]) => [b, a]),
    })),
  );
  const badRatios = gold.filter((g, i) => {
    const r = ref[i];
    const want = [r?.spreadBps ?? null, r?.imbalance ?? null, ...(r?.bands ?? []).map(([, , x]) => x)];
    return !g.ratios.every((x, j) => near(x, want[j] ?? null));
  });
  expect(badRatios).toEqual([]);

  const minutes = await lake.query(`SELECT symbol, epoch_us(minute)::VARCHAR AS us, seconds::INT AS seconds,
  updates::INT AS updates, bid, ask, mid, microprice, spread_bps_mean, imbalance_mean,
  ${BANDS.map((b) => `bid_depth_${b}_mean, ask_depth_${b}_mean`).join(", ")}
FROM ${lake.scan("gold", "book_1m")} ORDER BY symbol, minute`);
  const refMinutes = referenceBookMinutes(ref);
  expect(
    minutes.map((m) => [
      m.symbol,
      BigInt(String(m.us)),
      m.seconds,
      m.updates,
      m.bid,
      m.ask,
      m.mid,
      m.microprice,
      BANDS.map((b) => [m[`bid_depth_${b}_mean`], m[`ask_depth_${b}_mean`]]),
    ]),
  ).toEqual(
    refMinutes.map((m) => [
      m.symbol,
      m.minute,
      m.seconds,
      m.updates,
      m.bid,
      m.ask,
      m.mid,
      m.microprice,
      m.bandMeans.map(([b, a]) => [b, a]),
    ]),
  );
  expect(
    minutes.filter(
      (m, i) =>
        !near(m.spread_bps_mean, refMinutes[i]?.spreadBpsMean ?? null) ||
        !near(m.imbalance_mean, refMinutes[i]?.imbalanceMean ?? null),
    ),
  ).toEqual([]);

  const quality =
    await lake.query(`SELECT symbol, epoch_us(hour)::VARCHAR AS us, updates::INT AS u, snapshots::INT AS s,
  checksum_ok::INT AS ok, checksum_mismatches::INT AS mm, unverified::INT AS uv, unverified_intervals::INT AS iv, known_seconds::INT AS k
FROM ${lake.scan("gold", "book_quality_hourly")} ORDER BY symbol, hour`);
  expect(quality.map((q) => [q.symbol, BigInt(String(q.us)), q.u, q.s, q.ok, q.mm, q.uv, q.iv, q.k])).toEqual(
    referenceBookQuality(events, ref)
      .sort((x, y) => (x.symbol !== y.symbol ? (x.symbol < y.symbol ? -1 : 1) : x.hour < y.hour ? -1 : 1))
      .map((q) => [
        q.symbol,
        q.hour,
        q.updates,
        q.snapshots,
        q.checksumOk,
        q.checksumMismatches,
        q.unverified,
        q.unverifiedIntervals,
        q.knownSeconds,
      ]),
  );
  return ref;
}

describe("gold book equals an independent replay of silver events", () => {
  test("the recorded 2023 capture: 52 known seconds, each equal to the reference", async () => {
    const lake = createTempLake();
    try {
      const msgs = bookCaptureMessages();
      await commitBronze(
        lake.commitLog,
        msgs.map((m, i) => bookRecord(i, m)),
        { dataset: "kraken_book" },
      );
      await runSilverBook(lake.env);
      await runGoldBook(lake.env);
      const ref = await expectGoldEqualsReference(lake, msgs.map(asEvent));
      expect(ref.length).toBe(52);
    } finally {
      lake.cleanup();
    }
  });

  describe("a synthetic market across midnight, landed in batches", () => {
    let lake: TempLake;
    const market = bookMarketMessages({
      seed: 19,
      startMicros: parseRfc3339Micros("2024-05-01T23:20:00Z"),
      minutes: 80,
      meanGapMs: 250,
    });
    const events = market.map((m) => asEvent(m.json));
    beforeAll(async () => {
      lake = createTempLake();
      const records: BronzeRecord[] = market.map((m, i) => ({
        topic: "kraken.book",
        partition: 0,
        offset: i,
        key: (JSON.parse(m.json) as { symbol: string }).symbol,
        value: m.json,
        ingestedAt: m.tsMicros + 200_000n,
      }));
      const batches = 4;
      const size = Math.ceil(records.length / batches);
      for (let b = 0; b < batches; b++) {
        await commitBronze(lake.commitLog, records.slice(b * size, (b + 1) * size), {
          dataset: "kraken_book",
        });
        await runSilverBook(lake.env);
        await runGoldBook(lake.env);
      }
    });
    afterAll(() => lake?.cleanup());

    test("every second, minute and hour equals the reference, after incremental runs", async () => {
      const ref = await expectGoldEqualsReference(lake, events);
      // The faults leave holes: the mismatch interval and the drop are not known seconds.
      const symbols = new Set(ref.map((r) => r.symbol));
      expect([...symbols].sort()).toEqual(["BTC/USD", "ETH/USD"]);
      expect(ref.length).toBeGreaterThan(2 * 80 * 60 - 2 * 120);
      expect(ref.length).toBeLessThanOrEqual(2 * 80 * 60 - 2 * 20);
      expect(ref.some((r) => r.second >= parseRfc3339Micros("2024-05-02T00:00:00Z"))).toBe(true);
    });

    test("a full rebuild gives identical gold", async () => {
      using before = await lake.hold("gold", ["book_1s", "book_1m", "book_quality_hourly"]);
      const r = await runGoldBook(lake.env, { rebuild: true });
      expect(r.full).toBe(true);
      expect(await before.differences()).toEqual([]);
    });
  });
});
