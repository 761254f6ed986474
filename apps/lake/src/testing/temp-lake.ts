/** Test support: a throw-away local lake with its commit log and a quiet job environment. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { openDuckSession, sqlString } from "../runtime/duckdb.ts";
import type { LakeJobEnv } from "../runtime/env.ts";

export interface TempLake {
  readonly root: string;
  readonly store: LocalLakeStore;
  readonly commitLog: CommitLog;
  readonly env: LakeJobEnv;
  /** Rows of a query over the lake (DuckDB JSON values: DECIMAL, BIGINT, TIMESTAMPTZ as strings). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** `read_parquet` over every file of a dataset (without Hive columns), or an empty relation error. */
  scan(layer: "silver" | "gold", dataset: string): string;
  cleanup(): void;
}

export function createTempLake(opts: { readonly now?: () => bigint } = {}): TempLake {
  const base = mkdtempSync(join(tmpdir(), "tributary-lake-test-"));
  const root = join(base, "lake");
  const store = new LocalLakeStore(root);
  const commitLog = new CommitLog(store);
  const env: LakeJobEnv = {
    store,
    commitLog,
    log: createLogger("test", "error"),
    scratchDir: join(base, "scratch"),
    duck: { threads: 2, memoryLimitMb: 1024 },
    ...(opts.now ? { now: opts.now } : {}),
  };
  return {
    root,
    store,
    commitLog,
    env,
    async query(sql: string) {
      using duck = await openDuckSession();
      return await duck.rows(sql);
    },
    scan(layer, dataset) {
      return `read_parquet(${sqlString(`${root}/${layer}/${dataset}/**/*.parquet`)}, hive_partitioning = false, union_by_name = true)`;
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}
