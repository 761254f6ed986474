/**
 * Durable position of the incremental snapshot: `<stateDir>/cdc/<slot>.incremental.json`, written
 * atomically after Kafka acknowledged each chunk. A restart resumes from the last acknowledged chunk
 * (the chunk in flight is read again: duplicates, never gaps); the last signal acted on is kept so a
 * signal the slot replays after a restart is not acted on twice.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomically } from "./snapshot-state.ts";

export interface TableProgress {
  /** `schema.table`. */
  readonly table: string;
  /** The largest key when the table's snapshot began (key columns as PostgreSQL's text); rows above it come from the stream. */
  readonly maxKey: readonly string[] | null;
  /** The last key Kafka acknowledged a read for; null before the first chunk. */
  readonly lastKey: readonly string[] | null;
  /** Rows read so far and the table's estimated size when it began. */
  readonly rows: number;
  readonly estimated: number;
}

export interface IncrementalState {
  readonly v: 1;
  readonly slot: string;
  /** WAL position (decimal) of the last execute-/stop-snapshot signal acted on. */
  readonly signalLsn: string;
  /** Tables still to read; the first is being read. */
  readonly tables: readonly TableProgress[];
  readonly updatedAt: string;
}

export class IncrementalStateStore {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly slot: string,
  ) {
    this.file = join(stateDir, "cdc", `${slot}.incremental.json`);
  }

  read(): IncrementalState {
    const empty: IncrementalState = { v: 1, slot: this.slot, signalLsn: "0", tables: [], updatedAt: "" };
    if (!existsSync(this.file)) return empty;
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as IncrementalState;
      return parsed.v === 1 && Array.isArray(parsed.tables) ? parsed : empty;
    } catch {
      return empty; // unreadable: no snapshot in progress (signal it again to re-run)
    }
  }

  write(state: Omit<IncrementalState, "v" | "slot" | "updatedAt">): IncrementalState {
    const full: IncrementalState = { v: 1, slot: this.slot, ...state, updatedAt: new Date().toISOString() };
    writeJsonAtomically(this.file, full);
    return full;
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}
