import { afterAll, describe, expect, test } from "bun:test";
// Envelopes exactly as the CDC source writes them (apps/ingest).
import { OID } from "@tributary/ingest/cdc/column-values";
import {
  type EncodedRecord,
  encodeChange,
  encodeSnapshotRead,
  encodeTruncate,
  tableShape,
} from "@tributary/ingest/cdc/envelope";
import { UNCHANGED_TOAST } from "@tributary/ingest/cdc/pgoutput";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { type BronzeRecord, commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake } from "@tributary/lake/testing/temp-lake";
import { cdcOrderOf } from "@tributary/shared/contracts/cdc";

const lake = createTempLake();
afterAll(() => lake.cleanup());

const shape = tableShape(
  "public",
  "notes",
  [
    { name: "id", typeOid: OID.int4 },
    { name: "day", typeOid: OID.date },
    { name: "amount", typeOid: OID.numeric },
    { name: "note", typeOid: OID.text },
  ],
  ["id"],
);
const ctx = { prefix: "cdc", db: "tributary" };
const table = {
  schema: "public",
  table: "notes",
  columns: [
    { name: "id", type: "INTEGER" },
    { name: "day", type: "DATE" },
    { name: "amount", type: "DECIMAL(18,2)" },
    { name: "note", type: "VARCHAR" },
  ],
};
const T0 = 1_723_680_000_000_000n; // 2024-08-15T00:00:00Z
const topic = "cdc.public.notes";

const read = (cp: bigint, id: string, note: string, amount = "1.00"): EncodedRecord =>
  encodeSnapshotRead(
    ctx,
    shape,
    [id, "2024-08-15", amount, note],
    { consistentPoint: cp, startedMicros: T0 + cp, marker: "true" },
    T0,
  );
const pos = (commitLsn: bigint, lsn: bigint) => ({
  xid: Number(commitLsn),
  commitLsn,
  lsn,
  commitTimeMicros: T0 + commitLsn * 1000n,
  totalOrder: 1,
  dataCollectionOrder: 1,
});

let offset = 0;
function bronze(records: readonly EncodedRecord[], partition = 0): BronzeRecord[] {
  // Tombstones (null values) are for compacted topics; this bronze fixture keeps the change events.
  return records
    .filter((r) => r.value !== null)
    .map((r) => ({
      topic,
      partition,
      offset: offset++,
      key: r.key,
      value: r.value ?? "",
      ingestedAt: T0,
      eventTs: T0 + cdcOrderOf(JSON.parse(r.value as string).source).commitLsn * 1000n,
    }));
}

describe("CDC silver", () => {
  test("folds snapshot, changes, duplicates, TOAST, key changes and truncates into the source's state", async () => {
    const events: EncodedRecord[] = [
      // An interrupted snapshot (consistent point 100), then the complete one (200): id 2 was deleted in between.
      read(100n, "1", "a"),
      read(100n, "2", "b"),
      read(200n, "1", "a2"),
      read(200n, "3", "c"),
      // Changes after the snapshot.
      ...encodeChange(
        ctx,
        shape,
        { op: "c", oldTuple: null, oldKind: null, newTuple: ["4", "2024-08-16", "10.50", "d"] },
        pos(300n, 290n),
        T0,
      ).records,
      ...encodeChange(
        ctx,
        shape,
        { op: "u", oldTuple: null, oldKind: null, newTuple: ["1", "2024-08-15", "2.00", UNCHANGED_TOAST] },
        pos(310n, 305n),
        T0,
      ).records,
      ...encodeChange(
        ctx,
        shape,
        { op: "d", oldTuple: ["3", null, null, null], oldKind: "key", newTuple: null },
        pos(320n, 315n),
        T0,
      ).records,
      ...encodeChange(
        ctx,
        shape,
        {
          op: "u",
          oldTuple: ["4", null, null, null],
          oldKind: "key",
          newTuple: ["5", "2024-08-16", "10.50", "d"],
        },
        pos(330n, 325n),
        T0,
      ).records,
    ];
    // The same change delivered twice (a replay after a crash), on another offset.
    const duplicate = events[4] as EncodedRecord;
    await commitBronze(
      lake.commitLog,
      [
        ...bronze(events),
        ...bronze([duplicate]),
        {
          topic,
          partition: 0,
          offset: offset++,
          key: null,
          value: new Uint8Array([0xff, 0x00]),
          ingestedAt: T0,
          eventTs: T0,
        },
      ],
      {
        dataset: "cdc_public_notes",
      },
    );
    const first = await runCdcSilver(lake.env, table);
    expect(first.invalid).toBe(1);
    const current = await lake.query(
      `SELECT id, day::VARCHAR AS day, amount::VARCHAR AS amount, note, _op FROM read_parquet('${lake.store.url(first.currentGlob)}') ORDER BY id`,
    );
    expect(current).toEqual([
      { id: 1, day: "2024-08-15", amount: "2.00", note: "a2", _op: "u" }, // TOAST placeholder kept the snapshot's note
      { id: 5, day: "2024-08-16", amount: "10.50", note: "d", _op: "c" },
    ]);
    const history = await lake.query(
      `SELECT id, _op, note, valid_to IS NULL AS open FROM read_parquet('${lake.store.url(first.historyGlob)}') ORDER BY id, valid_from`,
    );
    expect(history).toEqual([
      { id: 1, _op: "r", note: "a2", open: false },
      { id: 1, _op: "u", note: "a2", open: true },
      { id: 3, _op: "r", note: "c", open: false },
      { id: 4, _op: "c", note: "d", open: false },
      { id: 5, _op: "c", note: "d", open: true },
    ]);

    // A truncate empties the table; later inserts start it again. Re-running is idempotent.
    const later = [
      encodeTruncate(ctx, shape, pos(400n, 395n), T0),
      ...encodeChange(
        ctx,
        shape,
        { op: "c", oldTuple: null, oldKind: null, newTuple: ["6", "2024-08-17", "0.00", null] },
        pos(410n, 405n),
        T0,
      ).records,
    ];
    await commitBronze(lake.commitLog, bronze(later), { dataset: "cdc_public_notes" });
    const second = await runCdcSilver(lake.env, table);
    const after = await lake.query(
      `SELECT id, day::VARCHAR AS day, note FROM read_parquet('${lake.store.url(second.currentGlob)}')`,
    );
    expect(after).toEqual([{ id: 6, day: "2024-08-17", note: null }]);
    const closed = await lake.query(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${lake.store.url(second.historyGlob)}') WHERE valid_to IS NULL`,
    );
    expect(closed).toEqual([{ n: 1 }]);
    const third = await runCdcSilver(lake.env, table);
    expect([third.rows, third.events, third.filesWritten]).toEqual([second.rows, 0, 0]);
  });
});
