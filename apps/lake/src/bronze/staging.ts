/**
 * Names of staged and published bronze files. Staged files wait in the lake under
 * `_tributary/staging/<layer>/<dataset>/<attempt>/tp=<topic>-<partition>-<first_offset>/p<pid>_part_N.parquet`,
 * outside every dataset tree; published files are named from their Kafka coordinates:
 * `<topic>-<partition>-<first_offset>-<n>.parquet`.
 */
import { padOffset } from "@tributary/shared/lake/commit-log";
import { INTERNAL_DIR } from "@tributary/shared/lake/layout";

export interface DatasetName {
  readonly layer: string;
  readonly name: string;
}

export function stagingPrefix(ds: DatasetName): string {
  return `${INTERNAL_DIR}/staging/${ds.layer}/${ds.name}/`;
}

/** Directory of one flush attempt for one dataset (lake key, no trailing slash). */
export function attemptDir(ds: DatasetName, attempt: string): string {
  return `${stagingPrefix(ds)}${attempt}`;
}

/** The `tp=` partition value grouping one topic-partition's rows of a flush. */
export function tpDirValue(topic: string, partition: number, firstOffset: bigint): string {
  return `${topic}-${partition}-${padOffset(firstOffset)}`;
}

export function publishedFileName(topic: string, partition: number, firstOffset: bigint, n: number): string {
  return `${topic}-${partition}-${padOffset(firstOffset)}-${n}.parquet`;
}

export interface StagedKey {
  readonly attempt: string;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
}

const TP_DIR = /^tp=(.+)-(\d+)-(\d{20})$/;

/** Parses a staged file's lake key; `undefined` for anything that is not one. */
export function parseStagedKey(ds: DatasetName, key: string): StagedKey | undefined {
  const prefix = stagingPrefix(ds);
  if (!key.startsWith(prefix)) return undefined;
  const [attempt, tp] = key.slice(prefix.length).split("/");
  const m = tp === undefined ? null : TP_DIR.exec(tp);
  if (attempt === undefined || m === null) return undefined;
  return { attempt, topic: m[1] as string, partition: Number(m[2]), firstOffset: BigInt(m[3] as string) };
}
