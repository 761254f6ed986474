/**
 * Durable record that the initial snapshot for a slot finished and was acknowledged by Kafka:
 * `<stateDir>/cdc/<slot>.json`, written atomically (temp file, fsync, rename). Without it, an
 * existing slot means an interrupted snapshot, and the source starts the snapshot over.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";

export interface SnapshotState {
  readonly v: 1;
  readonly slot: string;
  readonly publication: string;
  readonly prefix: string;
  /** LSN text of the slot's consistent point: where streaming starts. */
  readonly consistentPoint: string;
  readonly tables: readonly string[];
  readonly rows: number;
  readonly completedAt: string;
}

export class SnapshotStateStore {
  readonly file: string;

  constructor(stateDir: string, slot: string) {
    this.file = join(stateDir, "cdc", `${slot}.json`);
  }

  read(): SnapshotState | null {
    if (!existsSync(this.file)) return null;
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as SnapshotState;
      return parsed.v === 1 ? parsed : null;
    } catch {
      return null; // unreadable state counts as "no finished snapshot": the safe direction (re-snapshot)
    }
  }

  write(state: SnapshotState): void {
    writeJsonAtomically(this.file, state);
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}

/** Replaces `file` with `value` as JSON: a temp file, fsync, rename, fsync of the directory. */
export function writeJsonAtomically(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
