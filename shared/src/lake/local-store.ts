/**
 * The lake on local disk: files under the root; writes go to a hidden temporary file in the target
 * directory, then `rename` (same filesystem, atomic). `put(…, {ifAbsent})` uses `link`, which fails
 * atomically when the name exists.
 */
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { checkKey, LakeConflictError, type LakeObject, LakeStoreBase, LakeStoreError } from "./store-base.ts";

const tmpSuffix = (): string => `.tmp-${randomBytes(6).toString("hex")}`;

/** Local disk: the lake root is a directory; temporary names start with `.` so globs skip them. */
export class LocalLakeStore extends LakeStoreBase {
  readonly kind = "local" as const;
  constructor(readonly root: string) {
    super();
  }

  url(key: string): string {
    return join(this.root, checkKey(key));
  }

  /** Temporary sibling of `path`: hidden, and never ending in `.parquet` or `.json`. */
  private tmpFor(path: string): string {
    mkdirSync(dirname(path), { recursive: true });
    return join(dirname(path), `.${path.slice(dirname(path).length + 1)}${tmpSuffix()}`);
  }

  async putFile(localPath: string, key: string): Promise<number> {
    const target = this.url(key);
    const tmp = this.tmpFor(target);
    try {
      copyFileSync(localPath, tmp);
      renameSync(tmp, target);
    } catch (cause) {
      rmSync(tmp, { force: true });
      throw new LakeStoreError("cannot write lake file", key, { cause });
    }
    return statSync(target).size;
  }

  async put(key: string, body: string | Uint8Array, opts?: { readonly ifAbsent?: boolean }): Promise<void> {
    const target = this.url(key);
    const tmp = this.tmpFor(target);
    try {
      writeFileSync(tmp, body);
      if (opts?.ifAbsent) {
        try {
          linkSync(tmp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new LakeConflictError(key);
          throw err;
        }
      } else {
        renameSync(tmp, target);
      }
    } catch (cause) {
      if (cause instanceof LakeConflictError) throw cause;
      throw new LakeStoreError("cannot write lake object", key, { cause });
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.url(from);
    const dst = this.url(to);
    const fail = (cause: unknown): LakeStoreError =>
      new LakeStoreError(`cannot move lake object to ${to}`, from, { cause });
    // Optimistic: the target directory usually exists, and a rename is one system call.
    try {
      renameSync(src, dst);
      return;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw fail(cause);
      if (!existsSync(src)) {
        if (existsSync(dst)) return; // an earlier attempt already moved it
        throw fail(cause);
      }
    }
    mkdirSync(dirname(dst), { recursive: true });
    try {
      renameSync(src, dst);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT" && existsSync(dst)) return;
      throw fail(cause);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const dst = this.url(to);
    const tmp = this.tmpFor(dst);
    try {
      try {
        linkSync(this.url(from), tmp);
      } catch (err) {
        // A filesystem without hard links (some network mounts): copy the bytes instead.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
        copyFileSync(this.url(from), tmp);
      }
      renameSync(tmp, dst);
    } catch (cause) {
      rmSync(tmp, { force: true });
      throw new LakeStoreError(`cannot copy lake object to ${to}`, from, { cause });
    }
  }

  protected async readObject(key: string): Promise<Uint8Array> {
    return new Uint8Array(readFileSync(this.url(key)));
  }

  protected async deleteObject(key: string): Promise<void> {
    unlinkSync(this.url(key));
  }

  protected isMissing(err: unknown): boolean {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.url(key));
  }

  async *list(prefix: string, opts?: { readonly startAfter?: string }): AsyncIterable<LakeObject> {
    const slash = prefix.lastIndexOf("/");
    const baseKey = slash < 0 ? "" : prefix.slice(0, slash);
    const keys: LakeObject[] = [];
    const walk = (dirKey: string): void => {
      const dir = dirKey === "" ? this.root : join(this.root, dirKey);
      let entries: import("node:fs").Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith(".")) continue; // temporary files of in-flight writes
        const key = dirKey === "" ? e.name : `${dirKey}/${e.name}`;
        if (e.isDirectory()) {
          // Descend only where keys can still match the prefix.
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) walk(key);
        } else if (key.startsWith(prefix) && (opts?.startAfter === undefined || key > opts.startAfter)) {
          keys.push({ key, bytes: statSync(join(dir, e.name)).size });
        }
      }
    };
    walk(baseKey);
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async children(prefix: string): Promise<string[]> {
    const dir = prefix.replace(/\/+$/, "");
    try {
      return readdirSync(dir === "" ? this.root : this.url(dir))
        .filter((n) => !n.startsWith("."))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }
}
