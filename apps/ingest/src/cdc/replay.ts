/**
 * Rebuilds a table's current state from its change events, the way silver does: events in commit
 * order (shared/src/contracts/cdc.ts compareCdcOrder), duplicates dropped on (LSN, key), a completed
 * snapshot replacing the table at its consistent point (only a completed initial snapshot does: an
 * incremental snapshot's reads carry their high watermark's commit in `source.sequence`, Debezium's
 * [c, c] too, so they are upserts at that commit), deletes and truncates applied, unchanged
 * TOAST placeholders filled from the previous version of the row — for the new key of a primary-key
 * change, the old key's row, whose delete has the same position. Used to prove delivery end to end.
 */
import {
  type CdcEnvelope,
  type CdcOrder,
  type CdcRow,
  type CdcTransactionEvent,
  cdcOrderOf,
  compareCdcOrder,
  UNAVAILABLE_VALUE,
} from "@tributary/shared/contracts/cdc";

export interface KeyedEnvelope {
  readonly key: string | null;
  readonly envelope: CdcEnvelope;
  /** The Kafka record (`partition/offset`): tells apart a keyless table's snapshot reads, which share an LSN. */
  readonly record?: string;
}

export interface ReplayResult {
  /** key JSON (keys re-serialized canonically) → row. */
  readonly rows: Map<string, CdcRow>;
  readonly events: number;
  readonly duplicates: number;
}

interface Step {
  readonly order: CdcOrder;
  readonly kind: "event" | "replace";
  readonly item?: KeyedEnvelope;
}

/** Snapshot ids `snapshot:<LSN>` that reached END and listed `table` (`schema.table`). */
export function completedSnapshots(events: readonly CdcTransactionEvent[], table: string): bigint[] {
  const out: bigint[] = [];
  for (const e of events) {
    if (e.status !== "END" || !e.id.startsWith("snapshot:")) continue;
    if (e.data_collections?.some((d) => d.data_collection === table))
      out.push(BigInt(e.id.slice("snapshot:".length)));
  }
  return out;
}

export function canonicalKey(key: string | null): string {
  return key === null ? "null" : JSON.stringify(JSON.parse(key));
}

/** Events in commit order, each completed snapshot as a `replace` step just before its own rows. */
function stepsOf(items: readonly KeyedEnvelope[], completedSnapshotLsns: readonly bigint[]): Step[] {
  const steps: Step[] = items.map((item) => ({
    order: cdcOrderOf(item.envelope.source),
    kind: "event",
    item,
  }));
  for (const cp of completedSnapshotLsns)
    steps.push({ order: { snapshot: true, commitLsn: cp, lsn: -1n }, kind: "replace" });
  return steps.sort((a, b) => compareCdcOrder(a.order, b.order));
}

export function replayTable(
  items: readonly KeyedEnvelope[],
  completedSnapshotLsns: readonly bigint[],
): ReplayResult {
  const steps = stepsOf(items, completedSnapshotLsns);
  const rows = new Map<string, CdcRow>();
  // A key change is a delete and a create at one position: the old key, and its row once deleted.
  const position = (o: CdcOrder) => `${o.commitLsn}|${o.lsn}`;
  const movedFrom = new Map<string, string>();
  for (const s of steps)
    if (s.item?.envelope.op === "d") movedFrom.set(position(s.order), canonicalKey(s.item.key));
  const departed = new Map<string, CdcRow | undefined>();
  const seen = new Set<string>();
  let duplicates = 0;
  let events = 0;
  for (const step of steps) {
    if (step.kind === "replace") {
      rows.clear();
      continue;
    }
    const { key, envelope: e } = step.item as KeyedEnvelope;
    const id = `${step.order.lsn}|${canonicalKey(key)}|${e.op}`;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    events++;
    const k = canonicalKey(key);
    switch (e.op) {
      case "r":
      case "c":
      case "u": {
        const after = e.after as CdcRow;
        const at = position(step.order);
        const from = e.op === "c" ? movedFrom.get(at) : undefined;
        const prev =
          from === undefined || from === k
            ? rows.get(k)
            : departed.has(at)
              ? departed.get(at)
              : rows.get(from);
        const merged: Record<string, CdcRow[string]> = { ...after };
        for (const [col, v] of Object.entries(after))
          if (v === UNAVAILABLE_VALUE && prev) merged[col] = prev[col] ?? null;
        rows.set(k, merged);
        break;
      }
      case "d":
        departed.set(position(step.order), rows.get(k));
        rows.delete(k);
        break;
      case "t":
        rows.clear();
        break;
    }
  }
  return { rows, events, duplicates };
}

export interface MultisetReplay {
  /** Row JSON (columns in image order) → how many such rows the table holds. */
  readonly rows: Map<string, number>;
  readonly events: number;
  readonly duplicates: number;
}

/**
 * A keyless table (REPLICA IDENTITY FULL) as the multiset silver keeps: each row image adds a row,
 * each `before` removes one equal row. A change is one WAL record (LSN, op); snapshot reads, which
 * share the consistent point's LSN, are told apart by their Kafka record.
 */
export function replayMultiset(
  items: readonly KeyedEnvelope[],
  completedSnapshotLsns: readonly bigint[],
): MultisetReplay {
  const rows = new Map<string, number>();
  const seen = new Set<string>();
  let duplicates = 0;
  let events = 0;
  const add = (row: CdcRow, delta: number) => {
    const k = JSON.stringify(row);
    const n = (rows.get(k) ?? 0) + delta;
    if (n > 0) rows.set(k, n);
    else rows.delete(k);
  };
  for (const step of stepsOf(items, completedSnapshotLsns)) {
    if (step.kind === "replace") {
      rows.clear();
      continue;
    }
    const { envelope: e, record } = step.item as KeyedEnvelope;
    const id = e.op === "r" ? `r|${record ?? events}` : `${step.order.lsn}|${e.op}`;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    events++;
    if (e.op === "t") rows.clear();
    if (e.before && (e.op === "u" || e.op === "d")) add(e.before, -1);
    if (e.after && e.op !== "d") add(e.after, 1);
  }
  return { rows, events, duplicates };
}
