/**
 * Checksum health per hour, hand-checked on the recorded capture with a fault played into it: the
 * update at 15:30:19 fails its checksum, the next four arrive unverified, and the resubscription's
 * snapshot starts a new session at 15:30:22; one malformed message is quarantined. The gap shows as
 * one unverified interval and as the seconds gold/book_1s leaves out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { runSilverBook } from "../../silver/book.ts";
import { bookCaptureMessages, bookRecord, naiveBookAt } from "../../testing/book-capture.ts";
import { commitBronze } from "../../testing/bronze-fixture.ts";
import { createTempLake, type TempLake } from "../../testing/temp-lake.ts";
import { runGoldBook } from "./book.ts";

const MISMATCH = 305;
const RESNAPSHOT = 310;

/** The capture with the fault: statuses as the ingester publishes them, a new session after it. */
function faultyCapture(): string[] {
  const msgs = bookCaptureMessages("run-1");
  return msgs.map((text, i) => {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (i === MISMATCH) m.checksum_status = "mismatch";
    else if (i > MISMATCH && i < RESNAPSHOT) m.checksum_status = "unverified";
    else if (i >= RESNAPSHOT) {
      m.session = "run-2";
      m.seq = i - RESNAPSHOT;
      if (i === RESNAPSHOT) {
        const book = naiveBookAt(msgs, parseRfc3339Micros(String(m.ts)));
        Object.assign(m, { type: "snapshot", bids: book.bids, asks: book.asks });
      }
    }
    return JSON.stringify(m);
  });
}

let lake: TempLake;
beforeAll(async () => {
  lake = createTempLake();
  const msgs = faultyCapture();
  const records = msgs.map((m, i) => bookRecord(i, m));
  records.push(bookRecord(msgs.length, (msgs[7] as string).replace('"depth":10', '"depth":7')));
  await commitBronze(lake.commitLog, records, { dataset: "kraken_book" });
  await runSilverBook(lake.env);
  await runGoldBook(lake.env);
});
afterAll(() => lake?.cleanup());

describe("book checksum health per hour", () => {
  test("counts messages by checksum status, the sessions, one unverified interval, the quarantined row and the known seconds", async () => {
    const rows =
      await lake.query(`SELECT symbol, hour::VARCHAR AS hour, updates::INT AS updates, snapshots::INT AS snapshots,
  checksum_ok::INT AS ok, checksum_mismatches::INT AS mismatches, unverified::INT AS unverified,
  unverified_intervals::INT AS intervals, quarantined::INT AS quarantined, known_seconds::INT AS known,
  freshness_max_s FROM ${lake.scan("gold", "book_quality_hourly")}`);
    expect(rows).toEqual([
      {
        symbol: "BTC/USD",
        hour: "2023-07-30 15:00:00+00",
        updates: 510,
        snapshots: 2,
        ok: 505,
        mismatches: 1,
        unverified: 4,
        intervals: 1,
        quarantined: 1,
        // 15:29:57–15:30:17 (21 s) before the mismatch, 15:30:22–15:30:48 (27 s) in the new session.
        known: 48,
        // Landed at 15:31:00, the snapshot is stamped 15:29:57.
        freshness_max_s: 63,
      },
    ]);
  });

  test("the seconds around the fault: the book is known up to the last verified update, then from the new snapshot", async () => {
    const rows =
      await lake.query(`SELECT strftime(second, '%H:%M:%S') AS s, session FROM ${lake.scan("gold", "book_1s")}
WHERE second BETWEEN '2023-07-30 15:30:16Z' AND '2023-07-30 15:30:23Z' ORDER BY second`);
    expect(rows).toEqual([
      { s: "15:30:16", session: "run-1" },
      { s: "15:30:17", session: "run-1" },
      { s: "15:30:22", session: "run-2" },
      { s: "15:30:23", session: "run-2" },
    ]);
    const minutes = await lake.query(
      `SELECT strftime(minute, '%H:%M') AS m, seconds::INT AS n FROM ${lake.scan("gold", "book_1m")} ORDER BY minute`,
    );
    expect(minutes).toEqual([
      { m: "15:29", n: 3 },
      { m: "15:30", n: 45 },
    ]);
  });
});
