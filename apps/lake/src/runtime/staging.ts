/**
 * Staging and publishing of whole files for silver and gold.
 *
 * The unit of atomic replacement is one file with a stable name (a silver hour partition holds
 * exactly one `part-0.parquet`; a gold dataset holds one file per symbol and day or month). DuckDB
 * writes new files to a staging directory outside every dataset tree; publishing replaces each
 * final file in one step: `rename(2)` over the old file on local disk (same filesystem), or a PUT
 * of the complete object on S3. A concurrent reader therefore sees the old file or the new one,
 * never both, never neither, never a half-written one. A reader that already opened the old file
 * keeps reading it (local disk: the old inode lives until closed).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import { type DuckSession, sqlString, sqlStringList } from "./duckdb.ts";

/** Disposable: `using staging = createStaging(…)` removes what was not published when the scope ends. */
export interface Staging extends Disposable {
  /** The job this staging belongs to (`silver.trades`). */
  readonly job: string;
  /** The run's id, unique per staging (`<time base36>-<random hex>`): names its immutable table files. */
  readonly run: string;
  /** Absolute local directory DuckDB writes into. */
  readonly dir: string;
  /** Every file under `dir`, as `/`-separated paths relative to it, sorted. */
  files(subdir?: string): string[];
  /** Moves (local) or uploads (S3) one staged file to its final lake key, replacing atomically. */
  publish(relPath: string, key: string): Promise<void>;
}

/**
 * A staging directory for one run of `job`. On a local lake it is inside the lake
 * (`_tributary/staging/<job>/<run>/`), so publishing is a rename; on S3 it is under `scratchDir`.
 */
export function createStaging(store: LakeStore, job: string, scratchDir: string): Staging {
  const run = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const key = `${INTERNAL_DIR}/staging/${job}/${run}`;
  const dir = store.kind === "local" ? store.url(key) : join(scratchDir, "staging", job, run);
  mkdirSync(dir, { recursive: true });
  return {
    job,
    run,
    dir,
    files(subdir?: string): string[] {
      const base = subdir ? join(dir, subdir) : dir;
      return listFiles(base).map((p) => relative(dir, p).split(sep).join("/"));
    },
    async publish(relPath: string, finalKey: string): Promise<void> {
      if (store.kind === "local") await store.move(`${key}/${relPath}`, finalKey);
      else await store.putFile(join(dir, relPath), finalKey);
    },
    [Symbol.dispose](): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** Removes staging directories of `job` left by crashed runs (older than `olderThanMs`). */
export function sweepStaging(store: LakeStore, job: string, scratchDir: string, olderThanMs: number): number {
  const parent =
    store.kind === "local" ? store.url(`${INTERNAL_DIR}/staging/${job}`) : join(scratchDir, "staging", job);
  let removed = 0;
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    return 0;
  }
  const cutoff = Date.now() - olderThanMs;
  for (const name of names) {
    const path = join(parent, name);
    if (statSync(path).mtimeMs < cutoff) {
      rmSync(path, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

/**
 * DuckDB may split a partition over several files when a write spans more partitions than it keeps
 * open; a silver partition or gold file is one file, so those are merged (rare: large rebuilds only).
 */
export async function singleFile(
  duck: DuckSession,
  staging: Staging,
  rels: readonly string[],
  orderBy: string,
): Promise<string> {
  if (rels.length === 1) return rels[0] as string;
  const paths = rels.map((r) => `${staging.dir}/${r}`);
  const merged = `${(rels[0] as string).replace(/\.parquet$/, "")}-merged.parquet`;
  await duck.run(
    `COPY (SELECT * FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = false) ORDER BY ${orderBy}) TO ${sqlString(`${staging.dir}/${merged}`)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  for (const p of paths) rmSync(p);
  return merged;
}
