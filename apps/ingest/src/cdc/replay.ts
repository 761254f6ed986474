/**
 * Rebuilds a table's current state from its change events, the way silver does: events in commit
 * order (shared/src/contracts/cdc.ts compareCdcOrder), duplicates dropped on (LSN, key), a completed
 * snapshot replacing the table at its consistent point, deletes and truncates applied, unchanged
 * TOAST placeholders filled from the previous version of the row. Used to prove delivery end to end.
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

export function replayTable(
  items: readonly KeyedEnvelope[],
  completedSnapshotLsns: readonly bigint[],
): ReplayResult {
  const steps: Step[] = items.map((item) => ({
    order: cdcOrderOf(item.envelope.source),
    kind: "event",
    item,
  }));
  // A completed snapshot replaces the table just before its own rows.
  for (const cp of completedSnapshotLsns)
    steps.push({ order: { snapshot: true, commitLsn: cp, lsn: -1n }, kind: "replace" });
  steps.sort((a, b) => compareCdcOrder(a.order, b.order));
  const rows = new Map<string, CdcRow>();
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
        const prev = rows.get(k);
        const merged: Record<string, CdcRow[string]> = { ...after };
        for (const [col, v] of Object.entries(after))
          if (v === UNAVAILABLE_VALUE && prev) merged[col] = prev[col] ?? null;
        rows.set(k, merged);
        break;
      }
      case "d":
        rows.delete(k);
        break;
      case "t":
        rows.clear();
        break;
    }
  }
  return { rows, events, duplicates };
}
