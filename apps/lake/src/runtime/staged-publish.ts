/**
 * The staged publish every silver and gold job shares: DuckDB writes a dataset's new files into the
 * run's staging area, one directory per file they replace (`p_…=` partitions); each is then published
 * over its final key (atomic per file, see staging.ts), and the files the run owns that got no rows
 * are deleted. A layer describes its files once, as a FileLayout (silver: hour partitions; gold
 * market: a symbol's day or month files).
 */
import type { LakeStore } from "@tributary/shared/lake/store";
import type { DuckSession } from "./duckdb.ts";
import { type Staging, singleFile } from "./staging.ts";

/** How a layer names its files: the lake key of each, and which file a staged path belongs to. */
export interface FileLayout<F> {
  /** Stable id of a file within a dataset (e.g. `BTC/USD@2024-03-10`). */
  id(file: F): string;
  key(dataset: string, file: F): string;
  /** The file a staged path (relative to the dataset's staging directory) belongs to. */
  parseStaged(rel: string): F | undefined;
}

export class StagedWriteError extends Error {
  override readonly name = "StagedWriteError";
}

export interface StagedFiles<F> {
  readonly dataset: string;
  readonly layout: FileLayout<F>;
  /** Staged file (relative to the staging dir) per file id. */
  readonly files: ReadonlyMap<string, { readonly file: F; readonly rel: string }>;
  /** Files this write owns: those without a staged file are deleted on publish. */
  readonly owned: readonly F[];
}

/**
 * Collects what DuckDB wrote under `<staging>/<dataset>/`: one file per owned file (merging the rare
 * splits, ordered by `orderBy`); a staged file outside `owned` is refused.
 */
export async function collectStaged<F>(
  duck: DuckSession,
  staging: Staging,
  layout: FileLayout<F>,
  dataset: string,
  orderBy: string,
  owned: readonly F[],
): Promise<StagedFiles<F>> {
  const ownedIds = new Set(owned.map((f) => layout.id(f)));
  const grouped = new Map<string, { file: F; rels: string[] }>();
  for (const rel of staging.files(dataset)) {
    const file = layout.parseStaged(rel);
    if (file === undefined) throw new StagedWriteError(`${dataset}: unexpected staged file ${rel}`);
    const id = layout.id(file);
    if (!ownedIds.has(id))
      throw new StagedWriteError(`${dataset}: staged file ${id} outside the files this run owns`);
    const g = grouped.get(id) ?? { file, rels: [] };
    g.rels.push(rel);
    grouped.set(id, g);
  }
  const files = new Map<string, { file: F; rel: string }>();
  for (const [id, g] of grouped)
    files.set(id, { file: g.file, rel: await singleFile(duck, staging, g.rels, orderBy) });
  return { dataset, layout, files, owned };
}

/** Publishes the staged files, then deletes the owned files left without rows. */
export async function publishStaged<F>(
  store: LakeStore,
  staging: Staging,
  staged: StagedFiles<F>,
): Promise<{ published: number; deleted: number }> {
  const { dataset, layout } = staged;
  let published = 0;
  let deleted = 0;
  for (const { file, rel } of staged.files.values()) {
    await staging.publish(rel, layout.key(dataset, file));
    published += 1;
  }
  for (const f of staged.owned) {
    if (staged.files.has(layout.id(f))) continue;
    const key = layout.key(dataset, f);
    if (await store.exists(key)) {
      await store.delete(key);
      deleted += 1;
    }
  }
  return { published, deleted };
}
