/**
 * LakeStore: the few storage operations the lake needs, over local disk or any S3 API.
 *
 * Keys are relative to the lake root (`LAKE_URI`), `/`-separated, never starting with `/`:
 * `bronze/kraken_trades/year=2024/…/x.parquet`, `_tributary/commits/…`. Every write is atomic for
 * readers: an object is either absent or complete, never half-written.
 *
 * - local (`LAKE_URI=./lake`): local-store.ts, temporary file then `rename`.
 * - s3 (`LAKE_URI=s3://bucket/prefix`): s3-store.ts, Bun's S3Client plus SigV4 for what it lacks.
 *
 * store-base.ts holds the contract and what both share; this module picks one from the config.
 */
import type { Config } from "../config.ts";
import { LocalLakeStore } from "./local-store.ts";
import { S3LakeStore } from "./s3-store.ts";
import type { LakeStore } from "./store-base.ts";

export { LocalLakeStore } from "./local-store.ts";
export { S3LakeStore } from "./s3-store.ts";
export { LakeConflictError, type LakeObject, type LakeStore, LakeStoreError } from "./store-base.ts";

/** Builds the store for `config.lake.uri` (local path or `s3://bucket/prefix` with `config.s3`). */
/** The lake cannot be written at all: the message names LAKE_URI, its value and the cause. */
export class LakeUnwritableError extends Error {
  override readonly name = "LakeUnwritableError";
}

/**
 * Writes, reads back and deletes a small probe object under `_tributary/probe/`, so that a lake that
 * cannot be written (a path under a regular file, a missing bucket, a read-only place) fails at start
 * with a clear message instead of failing every flush later.
 */
export async function checkLakeWritable(store: LakeStore, probeName: string): Promise<void> {
  const key = `_tributary/probe/${probeName.replace(/[^A-Za-z0-9._-]/g, "_")}`;
  try {
    await store.put(key, "probe\n");
    if ((await store.readText(key)) !== "probe\n") throw new Error("the probe object read back differs");
    await store.delete(key);
  } catch (err) {
    let cause: unknown = err;
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new LakeUnwritableError(`LAKE_URI=${store.root} cannot be written: ${reason}`, { cause: err });
  }
}

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
