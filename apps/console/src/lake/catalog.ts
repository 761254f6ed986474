/**
 * What the lake holds: datasets per layer with files, rows, partitions, last commit and freshness.
 * The commit log (`_tributary/commits/…`) is the source of truth when a dataset has one: it is read
 * incrementally (a cursor per dataset), so a refresh costs only the new records. A dataset without
 * commit records (written by a job that does not log yet) is listed from its files: rows from the
 * Parquet footers (local lakes) and the newest file's time as its last commit. A dataset that cannot
 * be read (a dangling link, a link out of the lake, a file where a directory belongs, an unreadable
 * entry) is listed with the reason and nothing else is affected.
 */
import { lstatSync, realpathSync, statSync } from "node:fs";
import {
  type CommitCursor,
  CommitLog,
  type CommittedFile,
  EMPTY_CURSOR,
} from "@tributary/shared/lake/commit-log";
import { LAYERS, type Layer, partitionValues } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { isInside } from "./paths.ts";

export interface DatasetInfo {
  readonly layer: Layer;
  readonly name: string;
  readonly files: number;
  readonly bytes: number;
  /** null when unknown (S3 lake without commit records). */
  readonly rows: number | null;
  readonly partitions: number;
  readonly partitionKeys: readonly string[];
  /** Epoch ms of the newest commit (or newest file), null when unknown. */
  readonly lastCommitMs: number | null;
  readonly source: "commit-log" | "files";
  /** Seconds since the last commit. */
  readonly freshnessS: number | null;
  readonly stale: boolean;
  readonly staleAfterS: number;
  /** Why the dataset cannot be read; null when it can. */
  readonly error: string | null;
}

export interface PartitionInfo {
  readonly path: string;
  readonly values: Readonly<Record<string, string>>;
  readonly files: number;
  readonly bytes: number;
  readonly rows: number | null;
  readonly lastModifiedMs: number | null;
}

export interface LakeFile {
  /** Key relative to the lake root. */
  readonly key: string;
  readonly bytes: number;
  readonly rows: number | null;
  readonly partition: Readonly<Record<string, string>>;
  readonly modifiedMs: number | null;
}

export interface CatalogOptions {
  readonly store: LakeStore;
  readonly staleAfterS: Readonly<Record<Layer, number>>;
  /** Row counts from Parquet footers, for datasets without commit records (local lakes). */
  readonly footerRows?: (paths: readonly string[]) => Promise<Map<string, number>>;
  readonly now?: () => number;
  /** Files listed per dataset at most (a bound on memory and time). */
  readonly maxFiles?: number;
}

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

interface CommitState {
  cursor: CommitCursor;
  /** Live files with the time of the commit that added them. */
  live: Map<string, { file: CommittedFile; atMs: number }>;
  lastCommitMs: number | null;
}

export class LakeCatalog {
  private readonly log: CommitLog;
  private readonly commits = new Map<string, CommitState>();
  private readonly footerCache = new Map<string, { bytes: number; rows: number }>();
  private readonly now: () => number;

  constructor(private readonly options: CatalogOptions) {
    this.log = new CommitLog(options.store);
    this.now = options.now ?? Date.now;
  }

  get store(): LakeStore {
    return this.options.store;
  }

  async datasets(): Promise<DatasetInfo[]> {
    const out: DatasetInfo[] = [];
    for (const layer of LAYERS) {
      for (const name of await this.options.store.children(`${layer}/`)) {
        if (!DATASET_NAME.test(name)) continue;
        out.push(await this.dataset(layer, name));
      }
    }
    return out;
  }

  /** The dataset's summary; an unreadable one carries the reason in `error` instead of throwing. */
  async dataset(layer: Layer, name: string): Promise<DatasetInfo> {
    try {
      this.checkEntry(layer, name);
      return await this.readDataset(layer, name);
    } catch (err) {
      return this.unreadable(layer, name, err instanceof Error ? err.message : String(err));
    }
  }

  /** Marks a readable dataset unreadable after the fact (its view could not be built). */
  unreadable(layer: Layer, name: string, reason: string): DatasetInfo {
    return {
      layer,
      name,
      files: 0,
      bytes: 0,
      rows: null,
      partitions: 0,
      partitionKeys: [],
      lastCommitMs: null,
      source: "files",
      freshnessS: null,
      stale: false,
      staleAfterS: this.options.staleAfterS[layer],
      error: reason.slice(0, 500),
    };
  }

  /** A local dataset must be a directory whose real path stays inside its layer. */
  private checkEntry(layer: Layer, name: string): void {
    const store = this.options.store;
    if (store.kind !== "local") return;
    const path = store.url(`${layer}/${name}`);
    const link = lstatSync(path).isSymbolicLink();
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new Error(`${layer}/${name} is a link to something that does not exist`);
    }
    const layerRoot = realpathSync(store.url(layer));
    if (link && (!isInside(layerRoot, real) || real === layerRoot))
      throw new Error(`${layer}/${name} is a link out of the ${layer} layer (to ${real})`);
    if (!statSync(real).isDirectory()) throw new Error(`${layer}/${name} is not a directory`);
  }

  private async readDataset(layer: Layer, name: string): Promise<DatasetInfo> {
    const files = await this.files(layer, name);
    const source = this.commits.get(`${layer}/${name}`)?.live.size ? "commit-log" : "files";
    const lastCommitMs =
      source === "commit-log"
        ? (this.commits.get(`${layer}/${name}`)?.lastCommitMs ?? null)
        : files.reduce<number | null>(
            (max, f) => (f.modifiedMs === null ? max : Math.max(max ?? 0, f.modifiedMs)),
            null,
          );
    const partitions = new Set(files.map((f) => partitionPath(f.partition)));
    const keys = new Set<string>();
    for (const f of files) for (const k of Object.keys(f.partition)) keys.add(k);
    const rowsKnown = files.every((f) => f.rows !== null);
    const freshnessS = lastCommitMs === null ? null : Math.max(0, (this.now() - lastCommitMs) / 1000);
    const staleAfterS = this.options.staleAfterS[layer];
    return {
      layer,
      name,
      files: files.length,
      bytes: files.reduce((s, f) => s + f.bytes, 0),
      rows: rowsKnown ? files.reduce((s, f) => s + (f.rows ?? 0), 0) : null,
      partitions: partitions.size,
      partitionKeys: [...keys],
      lastCommitMs,
      source,
      freshnessS,
      // Unknown freshness (an S3 listing without commit records) is shown as such, not reported stale.
      stale: freshnessS !== null && freshnessS > staleAfterS,
      staleAfterS,
      error: null,
    };
  }

  /** The dataset's committed files (commit log when it has one, else a listing). */
  async files(layer: Layer, name: string): Promise<LakeFile[]> {
    const state = await this.readCommits(layer, name);
    if (state.live.size > 0) {
      return [...state.live.values()].map(({ file, atMs }) => ({
        key: file.path,
        bytes: file.bytes,
        rows: file.rows,
        partition: file.partition,
        modifiedMs: atMs,
      }));
    }
    return this.listedFiles(layer, name);
  }

  async partitions(layer: Layer, name: string): Promise<PartitionInfo[]> {
    const byPath = new Map<string, { values: Record<string, string>; files: LakeFile[] }>();
    for (const f of await this.files(layer, name)) {
      const path = partitionPath(f.partition);
      const entry = byPath.get(path) ?? { values: { ...f.partition }, files: [] };
      entry.files.push(f);
      byPath.set(path, entry);
    }
    return [...byPath.entries()]
      .map(([path, e]) => ({
        path,
        values: e.values,
        files: e.files.length,
        bytes: e.files.reduce((s, f) => s + f.bytes, 0),
        rows: e.files.every((f) => f.rows !== null) ? e.files.reduce((s, f) => s + (f.rows ?? 0), 0) : null,
        lastModifiedMs: e.files.reduce<number | null>(
          (m, f) => (f.modifiedMs === null ? m : Math.max(m ?? 0, f.modifiedMs)),
          null,
        ),
      }))
      .sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
  }

  private async readCommits(layer: Layer, name: string): Promise<CommitState> {
    const key = `${layer}/${name}`;
    const state = this.commits.get(key) ?? { cursor: EMPTY_CURSOR, live: new Map(), lastCommitMs: null };
    const { records, cursor } = await this.log.readSince({ layer, name }, state.cursor);
    for (const r of records) {
      if (r.kind === "compaction") for (const p of r.replaces) state.live.delete(p);
      const at = Number(parseRfc3339Micros(r.committed_at) / 1000n);
      for (const f of r.files) state.live.set(f.path, { file: f, atMs: at });
      state.lastCommitMs = Math.max(state.lastCommitMs ?? 0, at);
    }
    state.cursor = cursor;
    this.commits.set(key, state);
    return state;
  }

  private async listedFiles(layer: Layer, name: string): Promise<LakeFile[]> {
    const store = this.options.store;
    const prefix = `${layer}/${name}/`;
    const max = this.options.maxFiles ?? 200_000;
    const listed: { key: string; bytes: number }[] = [];
    for await (const obj of store.list(prefix)) {
      const base = obj.key.slice(obj.key.lastIndexOf("/") + 1);
      if (!obj.key.endsWith(".parquet") || base.startsWith(".") || base.startsWith("_")) continue;
      if (obj.key.split("/").some((s) => s.startsWith("_") || s.startsWith("."))) continue;
      listed.push(obj);
      if (listed.length >= max) break;
    }
    const local = store.kind === "local";
    const modified = new Map(listed.map((o) => [o.key, local ? mtime(store.url(o.key)) : null]));
    const uncounted = listed.filter((o) => {
      const cached = this.footerCache.get(o.key);
      return !cached || cached.bytes !== o.bytes;
    });
    if (uncounted.length > 0 && local && this.options.footerRows) {
      const counts = await this.options.footerRows(uncounted.map((o) => store.url(o.key)));
      for (const o of uncounted) {
        const rows = counts.get(store.url(o.key));
        if (rows !== undefined) this.footerCache.set(o.key, { bytes: o.bytes, rows });
      }
    }
    const keep = new Set(listed.map((o) => o.key));
    for (const key of this.footerCache.keys())
      if (key.startsWith(prefix) && !keep.has(key)) this.footerCache.delete(key);
    return listed.map((o) => {
      const cached = this.footerCache.get(o.key);
      return {
        key: o.key,
        bytes: o.bytes,
        rows: cached && cached.bytes === o.bytes ? cached.rows : null,
        partition: partitionOf(o.key.slice(prefix.length)),
        modifiedMs: modified.get(o.key) ?? null,
      };
    });
  }
}

/** Hive partition values from a path relative to the dataset: `year=2024/month=5/x.parquet`. */
export function partitionOf(relativeKey: string): Record<string, string> {
  const values = partitionValues(relativeKey.slice(0, relativeKey.lastIndexOf("/") + 1));
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, decodeURIComponent(v)]));
}

export function partitionPath(values: Readonly<Record<string, string>>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? "(unpartitioned)" : entries.map(([k, v]) => `${k}=${v}`).join("/");
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}
