/**
 * The lake store's contract (LakeStore), its errors, and what the local and S3 stores share: key
 * checks, and reading text, tolerating a missing key and naming the key in errors written once over
 * each store's primitive read and delete.
 */

export interface LakeObject {
  readonly key: string;
  readonly bytes: number;
}

/** The key already exists: an exclusive create (`put(…, {ifAbsent: true})`) lost. */
export class LakeConflictError extends Error {
  override readonly name = "LakeConflictError";
  constructor(readonly key: string) {
    super(`lake object already exists: ${key}`);
  }
}

/** A storage request failed; `key` names the object, `cause` the underlying error. */
export class LakeStoreError extends Error {
  override readonly name = "LakeStoreError";
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`${message}: ${key}`, options);
  }
}

export interface LakeStore {
  readonly kind: "local" | "s3";
  /** The lake root as configured: an absolute directory or `s3://bucket/prefix`. */
  readonly root: string;
  /** What DuckDB or Spark reads for a key: an absolute path or an `s3://` URL. */
  url(key: string): string;
  /** Copies (uploads) a local file to `key`, atomically; returns its size in bytes. */
  putFile(localPath: string, key: string): Promise<number>;
  /**
   * Writes small content at `key` atomically. With `ifAbsent`, it is an exclusive create: it throws
   * {@link LakeConflictError} when the key exists, and exactly one of several racing writers wins.
   */
  put(key: string, body: string | Uint8Array, opts?: { readonly ifAbsent?: boolean }): Promise<void>;
  /**
   * Moves `from` to `to` inside the lake; `to` appears complete at once (local: rename; S3: copy,
   * then delete `from`). Idempotent for roll-forward: if `from` is gone and `to` exists, it succeeds.
   */
  move(from: string, to: string): Promise<void>;
  /**
   * Copies `from` to `to` inside the lake, replacing `to` atomically (local: a hard link under a
   * temporary name renamed over `to`, no bytes copied; S3: a server-side CopyObject). `from` stays.
   */
  copy(from: string, to: string): Promise<void>;
  read(key: string): Promise<Uint8Array>;
  readText(key: string): Promise<string>;
  /** The text at `key`, or `undefined` when there is no such object. */
  readTextIfExists(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, in lexicographic key order, after `startAfter` if given. */
  list(prefix: string, opts?: { readonly startAfter?: string }): AsyncIterable<LakeObject>;
  /** Immediate child names under a directory-like prefix (`a/b/` → `c` for `a/b/c/…` and `a/b/c`). */
  children(prefix: string): Promise<string[]>;
  /** Deletes `key`; a missing key is not an error. */
  delete(key: string): Promise<void>;
}

export function checkKey(key: string): string {
  if (key === "" || key.startsWith("/") || key.split("/").some((s) => s === ".." || s === ".")) {
    throw new LakeStoreError("invalid lake key (relative, no '.' or '..' segments)", key);
  }
  return key;
}

/** Both stores: the operations built on a store's primitives, with one error and missing-key policy. */
export abstract class LakeStoreBase implements LakeStore {
  abstract readonly kind: "local" | "s3";
  abstract readonly root: string;
  abstract url(key: string): string;
  abstract putFile(localPath: string, key: string): Promise<number>;
  abstract put(key: string, body: string | Uint8Array, opts?: { readonly ifAbsent?: boolean }): Promise<void>;
  abstract move(from: string, to: string): Promise<void>;
  abstract copy(from: string, to: string): Promise<void>;
  abstract exists(key: string): Promise<boolean>;
  abstract list(prefix: string, opts?: { readonly startAfter?: string }): AsyncIterable<LakeObject>;
  abstract children(prefix: string): Promise<string[]>;
  /** The object's bytes; may throw the store's own error (read() names the key). */
  protected abstract readObject(key: string): Promise<Uint8Array>;
  protected abstract deleteObject(key: string): Promise<void>;
  /** Whether a store's own error says the object does not exist. */
  protected abstract isMissing(err: unknown): boolean;

  async read(key: string): Promise<Uint8Array> {
    try {
      return await this.readObject(key);
    } catch (cause) {
      throw new LakeStoreError("cannot read lake object", key, { cause });
    }
  }

  async readText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.read(key));
  }

  async readTextIfExists(key: string): Promise<string | undefined> {
    try {
      return await this.readText(key);
    } catch (err) {
      if (err instanceof LakeStoreError && this.isMissing(err.cause)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.deleteObject(key);
    } catch (err) {
      if (this.isMissing(err)) return;
      throw new LakeStoreError("cannot delete lake object", key, { cause: err });
    }
  }
}
