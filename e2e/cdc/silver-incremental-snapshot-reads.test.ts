/**
 * CDC silver and an incremental snapshot's reads (`op: "r"`, `source.snapshot` `incremental`), in
 * Tributary's form (`source.lsn` the high watermark's, `sequence` [its commit, its LSN]) and in
 * Debezium's (`lsn` null, `sequence` [c, c]): each read is an upsert of its row at its commit, never
 * a new initial snapshot, so rows outside the chunk stay; a chunk split over runs, a stream event
 * older than a read landing after it, and a later initial snapshot (which still replaces the table)
 * give the same current state incrementally and in a one-run rebuild.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { OID } from "@tributary/ingest/cdc/column-values";
import {
  type EncodedRecord,
  encodeChange,
  encodeSnapshotRead,
  tableShape,
} from "@tributary/ingest/cdc/envelope";
import { runCdcSilver } from "@tributary/lake/silver/cdc/replay";
import { type BronzeRecord, commitBronze } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";

const lakes: TempLake[] = [];
afterAll(() => {
  for (const l of lakes) l.cleanup();
});

const shape = tableShape(
  "public",
  "notes",
  [
    { name: "id", typeOid: OID.int4 },
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
    { name: "note", type: "VARCHAR" },
  ],
};
const T0 = 1_723_680_000_000_000n;

/** An initial snapshot's read at consistent point `cp`. */
const initial = (cp: bigint, id: number, note: string): EncodedRecord =>
  encodeSnapshotRead(
    ctx,
    shape,
    [String(id), note],
    { consistentPoint: cp, startedMicros: T0 + cp, marker: "true" },
    T0,
  );

/** An incremental read, as Tributary writes it: at the high watermark (`commit`, `lsn`). */
const incremental = (commit: bigint, lsn: bigint, id: number, note: string): EncodedRecord =>
  encodeSnapshotRead(
    ctx,
    shape,
    [String(id), note],
    {
      consistentPoint: lsn,
      startedMicros: T0 + commit,
      marker: "incremental",
      stream: { commitLsn: commit },
    },
    T0,
  );

/** The same read as Debezium writes it: `lsn` null, `sequence` [c, c] with c the last commit it streamed. */
function debezium(c: bigint, id: number, note: string): EncodedRecord {
  const r = incremental(c, c, id, note);
  const value = JSON.parse(r.value as string);
  value.source = { ...value.source, lsn: null, sequence: JSON.stringify([String(c), String(c)]) };
  return { ...r, value: JSON.stringify(value) };
}

const update = (commit: bigint, lsn: bigint, id: number, note: string): EncodedRecord[] =>
  encodeChange(
    ctx,
    shape,
    { op: "u", oldTuple: null, oldKind: null, newTuple: [String(id), note] },
    {
      xid: Number(commit),
      commitLsn: commit,
      lsn,
      commitTimeMicros: T0 + commit,
      totalOrder: 1,
      dataCollectionOrder: 1,
    },
    T0,
  ).records;

let offset = 0;
const bronze = (records: readonly EncodedRecord[]): BronzeRecord[] =>
  records.map((r) => ({
    topic: "cdc.public.notes",
    partition: 0,
    offset: offset++,
    key: r.key,
    value: r.value ?? "",
    ingestedAt: T0,
    eventTs: T0,
  }));

async function land(lake: TempLake, records: readonly EncodedRecord[]) {
  await commitBronze(lake.commitLog, bronze(records), { dataset: "cdc_public_notes" });
  const result = await runCdcSilver(lake.env, table);
  const rows = await lake.query(
    `SELECT id, note, _op, _lsn::VARCHAR AS lsn FROM read_parquet('${lake.store.url(result.currentGlob)}') ORDER BY id`,
  );
  return { result, rows };
}

/** Runs: each a bronze commit followed by a silver run. */
const RUNS: readonly (readonly EncodedRecord[])[] = [
  // The initial snapshot (consistent point 100) and a change.
  [initial(100n, 1, "a"), initial(100n, 2, "b"), initial(100n, 3, "c"), ...update(200n, 190n, 1, "a1")],
  // Debezium's chunk (after commit 300) split over two runs; id 4 was missing from silver.
  [debezium(300n, 1, "a1"), debezium(300n, 2, "b")],
  [debezium(300n, 4, "d"), ...update(400n, 390n, 2, "b2"), ...update(250n, 240n, 4, "older than the read")],
  // Tributary's chunk at the high watermark 500 (commit) / 495 (LSN), then a change to one of its rows.
  [incremental(500n, 495n, 5, "e"), incremental(500n, 495n, 2, "b2"), ...update(600n, 590n, 5, "e1")],
];

const AFTER_READS = [
  { id: 1, note: "a1", _op: "r", lsn: "300" },
  { id: 2, note: "b2", _op: "r", lsn: "495" },
  { id: 3, note: "c", _op: "r", lsn: "100" }, // not in any chunk: an incremental read deletes nothing
  { id: 4, note: "d", _op: "r", lsn: "300" }, // the read (after commit 300) is newer than the update at 250
  { id: 5, note: "e1", _op: "u", lsn: "590" },
];

describe("CDC silver folds incremental snapshot reads as upserts at their commit", () => {
  test("Debezium's (lsn null) and Tributary's reads, across runs, equal a one-run rebuild; a later initial snapshot still replaces the table", async () => {
    const lake = createTempLake();
    lakes.push(lake);
    const runs = [];
    for (const records of RUNS) runs.push(await land(lake, records));
    expect(runs.map((r) => [r.result.rebuilt, r.result.invalid])).toEqual([
      [true, 0],
      [false, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(runs[1]?.rows).toEqual([
      { id: 1, note: "a1", _op: "r", lsn: "300" },
      { id: 2, note: "b", _op: "r", lsn: "300" },
      { id: 3, note: "c", _op: "r", lsn: "100" },
    ]);
    expect(runs.at(-1)?.rows).toEqual(AFTER_READS);

    const rebuilt = createTempLake();
    lakes.push(rebuilt);
    const once = await land(rebuilt, RUNS.flat());
    expect([once.result.rebuilt, once.result.invalid]).toEqual([true, 0]);
    expect(once.rows).toEqual(AFTER_READS);

    // A new initial snapshot (consistent point 700) is a complete image: rows it lacks are gone.
    const resnapshot = [initial(700n, 1, "a2"), initial(700n, 5, "e1")];
    for (const l of [lake, rebuilt]) {
      const after = await land(l, resnapshot);
      expect(after.result.rebuilt).toBe(true);
      expect(after.rows).toEqual([
        { id: 1, note: "a2", _op: "r", lsn: "700" },
        { id: 5, note: "e1", _op: "r", lsn: "700" },
      ]);
    }
  });
});
