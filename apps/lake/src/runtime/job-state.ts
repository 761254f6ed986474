/**
 * A job's persisted state (watermarks, pending work) at `<LAKE_URI>/_tributary/jobs/<job>/state.json`,
 * written atomically (temp + rename on disk, one PUT on S3). It lives in the lake so a copied lake
 * carries its jobs' progress; deleting it makes the next run a full rebuild.
 */
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";
import type { LakeStore } from "@tributary/shared/lake/store";

export class JobStateError extends Error {
  override readonly name = "JobStateError";
}

export function jobStateKey(job: string): string {
  return `${INTERNAL_DIR}/jobs/${job}/state.json`;
}

/** Reads the state, or `undefined` when the job never saved one. `check` validates the shape. */
export async function loadJobState<T>(
  store: LakeStore,
  job: string,
  check: (value: unknown) => value is T,
): Promise<T | undefined> {
  const key = jobStateKey(job);
  const text = await store.readTextIfExists(key);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new JobStateError(`job state ${key} is not JSON; delete it to rebuild`, { cause });
  }
  if (!check(value)) throw new JobStateError(`job state ${key} has an unknown shape; delete it to rebuild`);
  return value;
}

export async function saveJobState(store: LakeStore, job: string, state: unknown): Promise<void> {
  await store.put(jobStateKey(job), `${JSON.stringify(state, null, 2)}\n`);
}

export async function deleteJobState(store: LakeStore, job: string): Promise<void> {
  await store.delete(jobStateKey(job));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
