/** What every silver, gold and export run needs from its caller (built once from Config at the edge). */

import { join } from "node:path";
import type { CommitLog } from "@tributary/shared/lake/commit-log";
import type { IcebergCatalog } from "@tributary/shared/lake/iceberg/catalog";
import type { LakeStore } from "@tributary/shared/lake/store";
import type { Logger } from "@tributary/shared/log";
import { nowMicros } from "@tributary/shared/time";
import { type DuckSession, type DuckSessionOptions, openDuckSession } from "./duckdb.ts";

export interface LakeJobEnv {
  readonly store: LakeStore;
  readonly commitLog: CommitLog;
  /** Where silver and gold publish their Iceberg tables (default: the embedded catalog in the lake). */
  readonly catalog?: IcebergCatalog;
  readonly log: Logger;
  /** Local directory for scratch files (S3 staging and downloads, DuckDB spill). */
  readonly scratchDir: string;
  readonly duck?: DuckSessionOptions;
  readonly signal?: AbortSignal;
  /** Clock in epoch microseconds (tests pin it). */
  readonly now?: () => bigint;
}

export function clock(env: LakeJobEnv): bigint {
  return (env.now ?? nowMicros)();
}

export class JobAbortedError extends Error {
  override readonly name = "JobAbortedError";
}

export function checkAborted(env: LakeJobEnv, step: string): void {
  if (env.signal?.aborted) throw new JobAbortedError(`aborted before ${step}`, { cause: env.signal.reason });
}

/**
 * The one way a lake job opens DuckDB: the job's limits, spilling under the run's scratch directory.
 * `using duck = await openJobDuck(env)` closes it when the scope ends.
 */
export function openJobDuck(env: Pick<LakeJobEnv, "scratchDir" | "duck">): Promise<DuckSession> {
  return openDuckSession({ tempDir: join(env.scratchDir, "duckdb"), ...env.duck });
}
