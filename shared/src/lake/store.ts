/**
 * LakeStore: the few storage operations the lake needs, over local disk or any S3 API.
 *
 * Keys are relative to the lake root (`LAKE_URI`), `/`-separated, never starting with `/`:
 * `bronze/kraken_trades/year=2024/…/x.parquet`, `_tributary/commits/…`. Every write is atomic for
 * readers: an object is either absent or complete, never half-written.
 *
 * - local (`LAKE_URI=./lake`): files under the root; writes go to a hidden temporary file in the
 *   target directory, then `rename` (same filesystem, atomic). `put(…, {ifAbsent})` uses `link`,
 *   which fails atomically when the name exists.
 * - s3 (`LAKE_URI=s3://bucket/prefix`): Bun's S3Client (multipart above `partSize`); an upload
 *   becomes visible only when it completes. `ifAbsent` is a conditional PUT (`If-None-Match: *`)
 *   and `move` a server-side CopyObject then DELETE, both signed here with SigV4 because Bun's
 *   client exposes neither.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
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
import { S3Client, type S3ListObjectsOptions, type S3ListObjectsResponse } from "bun";
import type { Config } from "../config.ts";

/** One stored object: its key relative to the lake root and its size. */
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

/** Builds the store for `config.lake.uri` (local path or `s3://bucket/prefix` with `config.s3`). */
export function createLakeStore(config: Pick<Config, "lake" | "s3">): LakeStore {
  const uri = config.lake.uri;
  if (uri.startsWith("s3://")) {
    const rest = uri.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    return new S3LakeStore(config.s3, bucket, prefix);
  }
  return new LocalLakeStore(uri);
}

function checkKey(key: string): string {
  if (key === "" || key.startsWith("/") || key.split("/").some((s) => s === ".." || s === ".")) {
    throw new LakeStoreError("invalid lake key (relative, no '.' or '..' segments)", key);
  }
  return key;
}

const tmpSuffix = (): string => `.tmp-${randomBytes(6).toString("hex")}`;

/** Local disk: the lake root is a directory; temporary names start with `.` so globs skip them. */
export class LocalLakeStore implements LakeStore {
  readonly kind = "local" as const;
  constructor(readonly root: string) {}

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

  async read(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(readFileSync(this.url(key)));
    } catch (cause) {
      throw new LakeStoreError("cannot read lake object", key, { cause });
    }
  }

  async readText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.read(key));
  }

  async readTextIfExists(key: string): Promise<string | undefined> {
    try {
      return readFileSync(this.url(key), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new LakeStoreError("cannot read lake object", key, { cause: err });
    }
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

  async delete(key: string): Promise<void> {
    try {
      unlinkSync(this.url(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new LakeStoreError("cannot delete lake object", key, { cause: err });
      }
    }
  }
}

/** Multipart part size for uploads: files above it go up in parts, `queueSize` at a time. */
const PART_SIZE = 8 * 1024 * 1024;
const LIST_RETRIES = 4;

/** S3 API: path-style requests to `config.s3.endpoint`, keys under `prefix/` in `bucket`. */
export class S3LakeStore implements LakeStore {
  readonly kind = "s3" as const;
  readonly root: string;
  private readonly client: S3Client;

  constructor(
    private readonly s3: Config["s3"],
    readonly bucket: string,
    readonly prefix: string,
  ) {
    this.root = prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
    this.client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      partSize: PART_SIZE,
      queueSize: 4,
      retry: 3,
    });
  }

  /** Key in the bucket for a lake key. */
  objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${checkKey(key)}` : checkKey(key);
  }

  private lakeKey(objectKey: string): string {
    return this.prefix ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  url(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async putFile(localPath: string, key: string): Promise<number> {
    const file = Bun.file(localPath);
    try {
      // Bun switches to a multipart upload above partSize; the object appears when it completes.
      await this.client.write(this.objectKey(key), file, { type: "application/octet-stream" });
    } catch (cause) {
      throw new LakeStoreError("cannot upload lake file", key, { cause });
    }
    return file.size;
  }

  async put(key: string, body: string | Uint8Array, opts?: { readonly ifAbsent?: boolean }): Promise<void> {
    if (!opts?.ifAbsent) {
      try {
        await this.client.write(this.objectKey(key), body);
      } catch (cause) {
        throw new LakeStoreError("cannot write lake object", key, { cause });
      }
      return;
    }
    const res = await this.signedFetch("PUT", this.objectKey(key), { "if-none-match": "*" }, body);
    if (res.status === 412 || res.status === 409) {
      await res.body?.cancel();
      throw new LakeConflictError(key);
    }
    await this.expectOk(res, "cannot create lake object", key);
  }

  async move(from: string, to: string): Promise<void> {
    const source = `/${this.bucket}/${encodeKey(this.objectKey(from))}`;
    const res = await this.signedFetch("PUT", this.objectKey(to), { "x-amz-copy-source": source });
    if (res.status === 404) {
      await res.body?.cancel();
      if (await this.exists(to)) return; // an earlier attempt already moved it
      throw new LakeStoreError(`cannot move missing lake object to ${to}`, from);
    }
    await this.expectOk(res, `cannot copy lake object to ${to}`, from);
    await this.delete(from);
  }

  async read(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await this.client.file(this.objectKey(key)).arrayBuffer());
    } catch (cause) {
      throw new LakeStoreError("cannot read lake object", key, { cause });
    }
  }

  async readText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.read(key));
  }

  async readTextIfExists(key: string): Promise<string | undefined> {
    try {
      return await this.client.file(this.objectKey(key)).text();
    } catch (err) {
      if ((err as { code?: string }).code === "NoSuchKey") return undefined;
      throw new LakeStoreError("cannot read lake object", key, { cause: err });
    }
  }

  async exists(key: string): Promise<boolean> {
    return this.client.exists(this.objectKey(key));
  }

  async *list(prefix: string, opts?: { readonly startAfter?: string }): AsyncIterable<LakeObject> {
    let continuationToken: string | undefined;
    const startAfter = opts?.startAfter === undefined ? undefined : this.objectKey(opts.startAfter);
    for (let page = 0; page < 1_000_000; page++) {
      const res = await this.listPage({
        prefix: this.prefix ? `${this.prefix}/${prefix}` : prefix,
        maxKeys: 1000,
        ...(continuationToken ? { continuationToken } : startAfter ? { startAfter } : {}),
      });
      for (const o of res.contents ?? []) yield { key: this.lakeKey(o.key), bytes: o.size ?? 0 };
      if (!res.isTruncated || !res.nextContinuationToken) return;
      continuationToken = res.nextContinuationToken;
    }
  }

  async children(prefix: string): Promise<string[]> {
    const dir = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    const full = this.prefix ? `${this.prefix}/${dir}` : dir;
    const names = new Set<string>();
    let continuationToken: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const res = await this.listPage({
        prefix: full,
        delimiter: "/",
        maxKeys: 1000,
        ...(continuationToken ? { continuationToken } : {}),
      });
      for (const p of res.commonPrefixes ?? []) names.add(p.prefix.slice(full.length).replace(/\/$/, ""));
      for (const o of res.contents ?? []) names.add(o.key.slice(full.length));
      if (!res.isTruncated || !res.nextContinuationToken) break;
      continuationToken = res.nextContinuationToken;
    }
    return [...names].filter((n) => n !== "").sort();
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.delete(this.objectKey(key));
    } catch (err) {
      if ((err as { code?: string }).code === "NoSuchKey") return;
      throw new LakeStoreError("cannot delete lake object", key, { cause: err });
    }
  }

  /**
   * One LIST page, retried a few times with capped backoff and jitter: some S3 servers answer a
   * listing that races an in-progress upload with a transient 5xx.
   */
  private async listPage(input: S3ListObjectsOptions): Promise<S3ListObjectsResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.list(input);
      } catch (cause) {
        if (attempt >= LIST_RETRIES)
          throw new LakeStoreError("cannot list lake objects", input.prefix ?? "", { cause });
        await Bun.sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  private async expectOk(res: Response, message: string, key: string): Promise<void> {
    const text = await res.text();
    // CopyObject can answer 200 with an <Error> body when it fails late.
    if (!res.ok || text.includes("<Error>")) {
      throw new LakeStoreError(`${message} (HTTP ${res.status} ${text.slice(0, 300)})`, key);
    }
  }

  /** A SigV4-signed path-style request (payload unsigned), for what Bun's S3Client lacks. */
  private signedFetch(
    method: "PUT",
    objectKey: string,
    extra: Record<string, string>,
    body?: string | Uint8Array,
  ): Promise<Response> {
    const endpoint = new URL(this.s3.endpoint);
    const basePath = endpoint.pathname.replace(/\/+$/, "");
    const path = `${basePath}/${this.bucket}/${encodeKey(objectKey)}`;
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: endpoint.host,
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      "x-amz-date": amzDate,
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v])),
    };
    const names = Object.keys(headers).sort();
    const canonical = [
      method,
      path,
      "",
      ...names.map((n) => `${n}:${headers[n]?.trim()}`),
      "",
      names.join(";"),
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const scope = `${date}/${this.s3.region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
    let signingKey: Buffer = hmac(`AWS4${this.s3.secretAccessKey}`, date);
    for (const part of [this.s3.region, "s3", "aws4_request"]) signingKey = hmac(signingKey, part);
    const signature = createHmac("sha256", signingKey).update(toSign).digest("hex");
    const { host: _host, ...sent } = headers;
    return fetch(`${endpoint.protocol}//${endpoint.host}${path}`, {
      method,
      headers: {
        ...sent,
        authorization: `AWS4-HMAC-SHA256 Credential=${this.s3.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
      },
      body: body ?? "",
    });
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** RFC 3986 encoding of each path segment, as SigV4 and S3 expect (`/` kept). */
function encodeKey(key: string): string {
  return key
    .split("/")
    .map((s) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join("/");
}
