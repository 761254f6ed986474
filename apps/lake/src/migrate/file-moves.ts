/**
 * The file half of the layout migration: every key under the layers and `_tributary/` whose
 * current-layout form differs is moved to it, one object at a time, so an interrupted run leaves
 * each file either at its old key or at its new one and the next run moves only what is left. A
 * destination that already holds a different object stops the plan before anything moves; one that
 * holds the same bytes is what an interrupted S3 move (copy, then delete) leaves, and only the
 * source is deleted.
 */
import { type Dirent, readdirSync, rmdirSync } from "node:fs";
import { WAREHOUSE_DIR } from "@tributary/shared/lake/iceberg/catalog";
import { INTERNAL_DIR, LAYERS } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";

/**
 * Where the migration looks for keys: the three layers, the internal state, and the Iceberg
 * warehouse (a table's own data files, such as compacted bronze, sit under Hive-style paths).
 */
export const MIGRATED_PREFIXES: readonly string[] = [
  ...LAYERS.map((l) => `${l}/`),
  `${INTERNAL_DIR}/`,
  `${WAREHOUSE_DIR}/`,
];

/** One object to bring to the current layout. */
export interface KeyMove {
  readonly from: string;
  readonly to: string;
  /** The destination already holds the same bytes (an interrupted move): only `from` is deleted. */
  readonly sourceOnly: boolean;
}

/** The lake cannot be migrated as it is; the message names the keys involved. */
export class LayoutMigrationError extends Error {
  override readonly name = "LayoutMigrationError";
}

/** Every key that `toCurrent` changes, with conflicts checked against the keys listed. */
export async function planKeyMoves(store: LakeStore, toCurrent: (key: string) => string): Promise<KeyMove[]> {
  const sizes = new Map<string, number>();
  for (const prefix of MIGRATED_PREFIXES) {
    for await (const o of store.list(prefix)) sizes.set(o.key, o.bytes);
  }
  const claimed = new Map<string, string>();
  const moves: KeyMove[] = [];
  for (const [from, bytes] of sizes) {
    const to = toCurrent(from);
    if (to === from) continue;
    const other = claimed.get(to);
    if (other !== undefined)
      throw new LayoutMigrationError(`${other} and ${from} would both move to ${to}; remove one of them`);
    claimed.set(to, from);
    const existing = sizes.get(to);
    const sourceOnly = existing !== undefined && existing === bytes && (await sameBytes(store, from, to));
    if (existing !== undefined && !sourceOnly)
      throw new LayoutMigrationError(
        `cannot move ${from} to ${to}: a different object is already there; remove or rename one of them`,
      );
    moves.push({ from, to, sourceOnly });
  }
  return moves;
}

async function sameBytes(store: LakeStore, a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([store.read(a), store.read(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Applies one planned move. */
export async function applyKeyMove(store: LakeStore, move: KeyMove): Promise<void> {
  if (move.sourceOnly) await store.delete(move.from);
  else await store.move(move.from, move.to);
}

/**
 * On local disk a move leaves the old directories behind, empty; readers listing a dataset's
 * partitions (`children`) would still see `month=03`. Removes every empty directory whose name is
 * not in the current layout, deepest first, including those an interrupted run emptied. S3 has no
 * directories.
 */
export function removeEmptiedDirs(store: LakeStore, toCurrent: (key: string) => string): void {
  if (store.kind !== "local") return;
  /** Whether `dirKey` was removed. */
  const prune = (dirKey: string): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(store.url(dirKey), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    let left = entries.length;
    for (const e of entries) if (e.isDirectory() && prune(`${dirKey}/${e.name}`)) left -= 1;
    if (left > 0 || toCurrent(dirKey) === dirKey) return false;
    rmdirSync(store.url(dirKey));
    return true;
  };
  for (const prefix of MIGRATED_PREFIXES) prune(prefix.slice(0, -1));
}
