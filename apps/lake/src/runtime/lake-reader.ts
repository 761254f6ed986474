/**
 * Gives DuckDB local paths for lake keys. On a local lake a key's path is the file itself; on S3 the
 * object is downloaded into the run's scratch directory first, so jobs need no DuckDB extension
 * (httpfs) and read exactly the objects they listed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LakeStore } from "@tributary/shared/lake/store";

/** Disposable: `using reader = new LakeReader(…)` removes its downloads when the scope ends. */
export class LakeReader implements Disposable {
  private readonly dir: string;
  private readonly fetched = new Map<string, string>();

  constructor(
    readonly store: LakeStore,
    scratchDir: string,
  ) {
    this.dir = join(scratchDir, "read", `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`);
  }

  /** Local paths of `keys`, in the same order. */
  async paths(keys: readonly string[]): Promise<string[]> {
    if (this.store.kind === "local") return keys.map((k) => this.store.url(k));
    const out: string[] = [];
    for (const key of keys) {
      let path = this.fetched.get(key);
      if (!path) {
        path = join(this.dir, key);
        mkdirSync(join(path, ".."), { recursive: true });
        writeFileSync(path, await this.store.read(key));
        this.fetched.set(key, path);
      }
      out.push(path);
    }
    return out;
  }

  /** Keys under `prefix` ending in `.parquet`, sorted. */
  async parquetKeys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.store.list(prefix)) if (o.key.endsWith(".parquet")) out.push(o.key);
    return out;
  }

  /** The subset of `keys` that exist. */
  async existing(keys: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const k of keys) if (await this.store.exists(k)) out.push(k);
    return out;
  }

  [Symbol.dispose](): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
