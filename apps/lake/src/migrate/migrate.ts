/**
 * `bun run lake migrate`: brings a lake written with an older path layout (v1: `symbol=BTC_USD`,
 * zero-padded `month=03`) to the current one (shared/src/lake/layout.ts, docs/contracts.md "Lake"),
 * on local disk or S3, with the lake's jobs stopped. Three steps, each restartable on its own:
 *
 * 1. files (file-moves.ts): every key under bronze/, silver/, gold/ and _tributary/ moves to
 *    `currentLayoutKey(key)`, one object at a time;
 * 2. commit records (commit-records.ts): rewritten with their keys and partition values mapped;
 * 3. Iceberg tables (iceberg-paths.ts): one `replace` snapshot per bronze table renaming its files.
 *
 * Why rewrite the records rather than map paths where they are read: the commit log is read by the
 * bronze writer's recovery, compaction and table committer, silver's bronze feed and the console,
 * each comparing or opening `files[].path`, `staged` and `replaces`; one rewrite keeps them all
 * exact, and the log keeps meaning what it says (a key in a record is a key in the lake). Files move
 * before records are rewritten because an old record over moved files is the state readers already
 * tolerate (silver's bronze feed finds a missing file's partition in the current layout).
 *
 * Nothing else names data paths: job states hold cursors and counts, the change journal holds pair
 * values and hours, silver's key index is located by key (moved in step 1). The marker
 * `_tributary/layout.json` is written last, so a run that stops early is simply run again, and a
 * run after it answers at once that the lake is current.
 */
import { EmbeddedCatalog, type IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { currentLayoutKey, INTERNAL_DIR, LAKE_LAYOUT_VERSION } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { applyRecordRewrite, planRecordRewrites } from "./commit-records.ts";
import {
  applyKeyMove,
  type KeyMove,
  LayoutMigrationError,
  planKeyMoves,
  removeEmptiedDirs,
} from "./file-moves.ts";
import { applyTableRewrite, planTableRewrites, type TablePathRewrite } from "./iceberg-paths.ts";

export { type KeyMove, LayoutMigrationError } from "./file-moves.ts";

/** The lake's layout version, written when a migration completes. */
export const LAYOUT_MARKER_KEY = `${INTERNAL_DIR}/layout.json`;

export interface MigrationProgress {
  readonly step: "files" | "records" | "tables";
  readonly done: number;
  readonly total: number;
}

export interface MigrateOptions {
  /** Plan only: list what would change and change nothing. */
  readonly dryRun?: boolean;
  readonly log: Logger;
  /** Called after each file, record or table (the CLI throttles what it prints). */
  readonly onProgress?: (progress: MigrationProgress) => void;
  /** The catalog the bronze tables are committed through (default: the embedded one, in the lake). */
  readonly catalog?: IcebergCatalog;
}

export interface MigrationResult {
  /** The marker already said the current layout: nothing was looked at. */
  readonly alreadyCurrent: boolean;
  readonly dryRun: boolean;
  /** Objects moved (or, in a dry run, that would move). */
  readonly moves: readonly KeyMove[];
  /** Commit records rewritten (or that would be). */
  readonly records: readonly string[];
  /** Iceberg tables given a renaming snapshot (or that would be). */
  readonly tables: readonly TablePathRewrite[];
}

/** The layout version the marker records, or undefined for a lake without one. */
export async function markedLayoutVersion(store: LakeStore): Promise<number | undefined> {
  const text = await store.readTextIfExists(LAYOUT_MARKER_KEY);
  if (text === undefined) return undefined;
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== "number" || !Number.isInteger(version))
    throw new LayoutMigrationError(`${LAYOUT_MARKER_KEY} holds no layout version: ${text.trim()}`);
  return version;
}

export async function migrateLake(store: LakeStore, opts: MigrateOptions): Promise<MigrationResult> {
  const dryRun = opts.dryRun ?? false;
  const marked = await markedLayoutVersion(store);
  if (marked !== undefined && marked > LAKE_LAYOUT_VERSION)
    throw new LayoutMigrationError(
      `the lake is at layout v${marked}, newer than this code's v${LAKE_LAYOUT_VERSION}; upgrade Tributary`,
    );
  if (marked === LAKE_LAYOUT_VERSION)
    return { alreadyCurrent: true, dryRun, moves: [], records: [], tables: [] };
  const catalog = opts.catalog ?? new EmbeddedCatalog(store);
  const progress = (step: MigrationProgress["step"], done: number, total: number): void =>
    opts.onProgress?.({ step, done, total });

  const moves = await planKeyMoves(store, currentLayoutKey);
  if (dryRun) {
    const records = await planRecordRewrites(store, currentLayoutKey);
    const tables = await planTableRewrites(store, catalog, currentLayoutKey);
    return { alreadyCurrent: false, dryRun, moves, records: records.map((r) => r.key), tables };
  }

  opts.log.info("moving files to the current layout", { files: moves.length });
  for (const [i, move] of moves.entries()) {
    await applyKeyMove(store, move);
    progress("files", i + 1, moves.length);
  }
  removeEmptiedDirs(store, currentLayoutKey);

  const records = await planRecordRewrites(store, currentLayoutKey);
  opts.log.info("rewriting commit records", { records: records.length });
  for (const [i, rewrite] of records.entries()) {
    await applyRecordRewrite(store, rewrite);
    progress("records", i + 1, records.length);
  }

  const tables = await planTableRewrites(store, catalog, currentLayoutKey);
  opts.log.info("renaming Iceberg data files", { tables: tables.length });
  for (const [i, rewrite] of tables.entries()) {
    await applyTableRewrite(store, catalog, rewrite, currentLayoutKey);
    progress("tables", i + 1, tables.length);
  }

  await store.put(LAYOUT_MARKER_KEY, `${JSON.stringify({ version: LAKE_LAYOUT_VERSION })}\n`);
  return { alreadyCurrent: false, dryRun, moves, records: records.map((r) => r.key), tables };
}

/** The one line a run ends with. */
export function migrationSummary(r: MigrationResult, root: string): string {
  if (r.alreadyCurrent) return `lake ${root} is already at layout v${LAKE_LAYOUT_VERSION}; nothing to do`;
  const files = r.tables.reduce((n, t) => n + t.files, 0);
  const what = `${r.moves.length} file(s), ${r.records.length} commit record(s), ${r.tables.length} Iceberg table(s) (${files} data file path(s))`;
  return r.dryRun
    ? `dry run: lake ${root} would move to layout v${LAKE_LAYOUT_VERSION}: ${what}; nothing changed`
    : `lake ${root} is at layout v${LAKE_LAYOUT_VERSION}: migrated ${what}`;
}
