import { describe, expect, test } from "bun:test";
import { type CdcEnvelope, type CdcRow, UNAVAILABLE_VALUE } from "@tributary/shared/contracts/cdc";
import { type KeyedEnvelope, replayMultiset, replayTable } from "./replay.ts";

/** A keyless event: only what replay reads (op, before/after, the order in `source.sequence`). */
function event(
  op: "r" | "c" | "u" | "d",
  at: { commit: number | null; lsn: number; record: string },
  rows: { before?: CdcRow; after?: CdcRow },
): KeyedEnvelope {
  const sequence = JSON.stringify([at.commit === null ? null : String(at.commit), String(at.lsn)]);
  const envelope = {
    op,
    before: rows.before ?? null,
    after: rows.after ?? null,
    source: { sequence, lsn: at.lsn, snapshot: at.commit === null ? "true" : "false" },
  } as unknown as CdcEnvelope;
  return { key: null, envelope, record: at.record };
}

const a = { note: "a", n: 1 };
const b = { note: "b", n: 2 };

describe("replayMultiset: a keyless REPLICA IDENTITY FULL table", () => {
  test("equal snapshot rows stay as many rows, and a delete removes one of them", () => {
    const events = [
      event("r", { commit: null, lsn: 100, record: "0/0" }, { after: a }),
      event("r", { commit: null, lsn: 100, record: "0/1" }, { after: a }),
      event("r", { commit: null, lsn: 100, record: "0/2" }, { after: a }),
      event("d", { commit: 120, lsn: 110, record: "0/3" }, { before: a }),
      event("u", { commit: 140, lsn: 130, record: "0/4" }, { before: a, after: b }),
    ];
    const out = replayMultiset(events, [100n]);
    expect([...out.rows]).toEqual([
      [JSON.stringify(a), 1],
      [JSON.stringify(b), 1],
    ]);
    expect(out.duplicates).toBe(0);
  });

  test("a change replayed after a crash (same LSN, another record) counts once; a re-read snapshot record too", () => {
    const insert = (record: string) => event("c", { commit: 220, lsn: 210, record }, { after: b });
    const read = event("r", { commit: null, lsn: 100, record: "0/0" }, { after: a });
    const out = replayMultiset([read, read, insert("0/5"), insert("0/9")], [100n]);
    expect([...out.rows]).toEqual([
      [JSON.stringify(a), 1],
      [JSON.stringify(b), 1],
    ]);
    expect(out.duplicates).toBe(2);
  });

  test("a completed snapshot replaces the rows of an earlier, unfinished one", () => {
    const early = event("r", { commit: null, lsn: 100, record: "0/0" }, { after: a });
    const late = event("r", { commit: null, lsn: 300, record: "0/7" }, { after: b });
    expect([...replayMultiset([early, late], [300n]).rows]).toEqual([[JSON.stringify(b), 1]]);
  });
});

describe("replayTable: primary-key changes that leave a TOASTed value alone", () => {
  const keyed = (
    op: "r" | "c" | "u" | "d",
    id: number,
    at: { commit: number | null; lsn: number },
    after?: CdcRow,
  ): KeyedEnvelope => ({ ...event(op, { ...at, record: "" }, after ? { after } : {}), key: `{"id":${id}}` });
  const gone = UNAVAILABLE_VALUE;

  test("the new key takes the old key's value, whichever of the delete and the create comes first, along a chain", () => {
    const events = [
      keyed("r", 1, { commit: null, lsn: 100 }, { id: 1, big: "B1", n: 1 }),
      keyed("r", 2, { commit: null, lsn: 100 }, { id: 2, big: "B2", n: 2 }),
      // 1 → 11 → 21 in one transaction; the create of 21 listed before the deletes (another partition).
      keyed("c", 21, { commit: 300, lsn: 220 }, { id: 21, big: gone, n: 1 }),
      keyed("d", 1, { commit: 300, lsn: 210 }),
      keyed("c", 11, { commit: 300, lsn: 210 }, { id: 11, big: gone, n: 1 }),
      keyed("d", 11, { commit: 300, lsn: 220 }),
      // 2 → 12, the large value rewritten: the new one.
      keyed("d", 2, { commit: 400, lsn: 310 }),
      keyed("c", 12, { commit: 400, lsn: 310 }, { id: 12, big: "NEW", n: 2 }),
      keyed("u", 12, { commit: 500, lsn: 410 }, { id: 12, big: gone, n: 3 }),
    ];
    const { rows } = replayTable(events, [100n]);
    expect([...rows].sort()).toEqual([
      ['{"id":12}', { id: 12, big: "NEW", n: 3 }],
      ['{"id":21}', { id: 21, big: "B1", n: 1 }],
    ]);
  });
});

describe("replayTable: incremental snapshot reads", () => {
  /** A read of `id` placed at `sequence` (an incremental read's commit LSN is not null), with `lsn`. */
  const read = (id: number, note: string, sequence: [string | null, string], lsn: number | null) => ({
    key: `{"id":${id}}`,
    envelope: {
      op: "r",
      before: null,
      after: { id, note },
      source: {
        sequence: JSON.stringify(sequence),
        lsn,
        snapshot: sequence[0] === null ? "true" : "incremental",
      },
    } as unknown as CdcEnvelope,
  });
  const change = (id: number, note: string, commit: number, lsn: number) => ({
    key: `{"id":${id}}`,
    envelope: {
      op: "u",
      before: null,
      after: { id, note },
      source: { sequence: JSON.stringify([String(commit), String(lsn)]), lsn, snapshot: "false" },
    } as unknown as CdcEnvelope,
  });

  test("Tributary's and Debezium's (lsn null, [c, c]) reads are upserts at their commit: they replace nothing else, a later change wins", () => {
    const events = [
      read(1, "a", [null, "100"], 100),
      read(2, "b", [null, "100"], 100),
      read(3, "c", [null, "100"], 100),
      change(1, "a1", 200, 190),
      read(1, "a1", ["300", "300"], null), // Debezium's form
      read(4, "d", ["300", "300"], null),
      change(4, "d-older", 250, 240), // before the read: the read wins
      read(2, "b", ["500", "495"], 495), // Tributary's form
      change(2, "b1", 600, 590),
    ];
    const { rows } = replayTable(events, [100n]);
    expect([...rows].sort()).toEqual([
      ['{"id":1}', { id: 1, note: "a1" }],
      ['{"id":2}', { id: 2, note: "b1" }],
      ['{"id":3}', { id: 3, note: "c" }],
      ['{"id":4}', { id: 4, note: "d" }],
    ]);
  });
});
