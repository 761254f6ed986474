/**
 * What incremental CDC silver remembers between runs: the bronze watermark and the fold's frame (the
 * cut, the columns, the key groups) in the job's state.json, and per key group one internal state
 * file holding every key's newest event position and filled row. A group's files are all rewritten
 * together; its state file is published last, so it is the group's commit point.
 *
 *   silver/cdc_<s>_<t>/part-<group>.parquet                      current rows of the group
 *   silver/cdc_<s>_<t>_history/open-<group>.parquet              their open versions (valid_to null)
 *   silver/cdc_<s>_<t>_history/closed-<group>-<seq>-<n>.parquet  versions closed by run <seq>
 *   _tributary/silver/cdc_<s>_<t>/state/part-<group>.parquet     key, position, alive, filled row
 *   _tributary/silver/cdc_<s>_<t>/departed/<seq>-<n>.parquet     rows deleted, then their key reused (key-moves.ts)
 *   _tributary/silver/cdc_<s>_<t>/pending/<seq>-<n>.parquet      key-change events waiting for their delete
 *
 * A table without a primary key (multiset.ts) has one current file (part-000000), its history as
 * the rebuild's open-000000 plus one run-<seq> file of new images per incremental run, and its
 * counts per distinct row in _tributary/silver/cdc_<s>_<t>/state/multiset-<seq>.parquet.
 */
import type { CommitCursor } from "@tributary/shared/lake/commit-log";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import { isRecord } from "../../runtime/job-state.ts";
import type { ColumnSources } from "./column-types.ts";
import type { MultisetWatermark } from "./multiset.sql.ts";

/** A position in commit order (shared/src/contracts/cdc.ts compareCdcOrder), as decimal strings. */
export interface CdcPosition {
  /** Commit LSN of the event's transaction (an initial snapshot's read: the consistent point). */
  readonly commit: string;
  /**
   * 0 for an initial snapshot's read, 1 for a change or an incremental snapshot's read (an upsert at
   * its high watermark's commit): an initial read sits before a change committed at its point.
   */
  readonly read: 0 | 1;
  readonly lsn: string;
}

export interface CdcGroup {
  /** Keys in the group's state file (deleted keys included: their position stops replays). */
  readonly keys: number;
  /** Current rows in the group. */
  readonly rows: number;
}

export interface CdcSilverState {
  readonly v: 1;
  /** How the table is folded: by primary key or, for a table without one, as a multiset (counts of equal rows). */
  readonly mode: "keyed" | "multiset";
  readonly cursor: CommitCursor;
  /** Run number; names the history files a run closes. */
  readonly seq: number;
  /** Consistent point of the latest initial snapshot folded in (null: none seen; incremental ones never count). */
  readonly snapshotLsn: string | null;
  /** Events before this position are no longer part of the table (latest snapshot or truncate). */
  readonly cut: CdcPosition | null;
  /** Current columns and the position of the row image they come from. */
  readonly columns: readonly string[];
  readonly columnsAt: CdcPosition | null;
  /** Every column the history (and the state files) has. */
  readonly allColumns: readonly string[];
  /** The `name TYPE` list the state files were typed with (null: every column VARCHAR). */
  readonly columnTypes: readonly string[] | null;
  /** What the frame's envelope schemas say about each column's type (column-types.ts); absent in older states. */
  readonly columnSources?: ColumnSources;
  readonly groups: readonly CdcGroup[];
  /** The events held back for the next run (key-moves.ts): their file and count; absent: none. */
  readonly pending?: { readonly key: string; readonly events: number };
  /**
   * Every file of both datasets has a BIGINT `_lsn` (a keyed run ensures it); absent in states written
   * before `_lsn` stopped being a UBIGINT, whose files the next run checks once.
   */
  readonly lsnBigint?: true;
  /**
   * Multiset only: the newest event folded, when all came from one Kafka partition (then a run
   * folds only the events after it onto the stored counts); absent: every run rebuilds.
   */
  readonly watermark?: MultisetWatermark;
  readonly updatedAt: string;
}

export function isCdcSilverState(value: unknown): value is CdcSilverState {
  return (
    isRecord(value) &&
    value.v === 1 &&
    (value.mode === "keyed" || value.mode === "multiset") &&
    isRecord(value.cursor) &&
    isRecord(value.cursor.appends) &&
    typeof value.seq === "number" &&
    Array.isArray(value.columns) &&
    Array.isArray(value.allColumns) &&
    Array.isArray(value.groups)
  );
}

/** Keys per group: a run rewrites the groups its changes touch, so this bounds a small run's cost. */
export const GROUP_KEYS = 50_000;

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

export const currentPartKey = (dataset: string, group: number): string =>
  `silver/${dataset}/part-${pad(group, 6)}.parquet`;
export const openHistoryKey = (historyDataset: string, group: number): string =>
  `silver/${historyDataset}/open-${pad(group, 6)}.parquet`;
export const closedHistoryKey = (
  historyDataset: string,
  group: number,
  seq: number,
  attempt: number,
): string => `silver/${historyDataset}/closed-${pad(group, 6)}-${pad(seq, 10)}-${attempt}.parquet`;
export const stateDir = (dataset: string): string => `${INTERNAL_DIR}/silver/${dataset}/state/`;
export const statePartKey = (dataset: string, group: number): string =>
  `${stateDir(dataset)}part-${pad(group, 6)}.parquet`;
/** A multiset's history images added by incremental run `seq`. */
export const runHistoryKey = (historyDataset: string, seq: number): string =>
  `silver/${historyDataset}/run-${pad(seq, 10)}.parquet`;
/** A multiset's counts after run `seq`. */
export const multisetStateKey = (dataset: string, seq: number): string =>
  `${stateDir(dataset)}multiset-${pad(seq, 10)}.parquet`;
export const departedDir = (dataset: string): string => `${INTERNAL_DIR}/silver/${dataset}/departed/`;
export const pendingDir = (dataset: string): string => `${INTERNAL_DIR}/silver/${dataset}/pending/`;
/** A run's file in `departedDir` or `pendingDir`. */
export const runFileKey = (dir: string, seq: number, attempt: number): string =>
  `${dir}${pad(seq, 10)}-${attempt}.parquet`;

/** The group number of a `part-<g>`, `open-<g>` or `closed-<g>-…` file key. */
export function groupOfKey(key: string): number | undefined {
  const m = /\/(?:part|open|closed)-(\d{6})[-.]/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** Compares two positions in commit order. */
export function comparePosition(a: CdcPosition, b: CdcPosition): number {
  const big = (x: string, y: string) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);
  return big(a.commit, b.commit) || a.read - b.read || big(a.lsn, b.lsn);
}
