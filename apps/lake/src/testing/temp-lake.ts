/** Test support: a throw-away local lake with its commit log and a quiet job environment. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { LocalLakeStore } from "@tributary/shared/lake/store";
import { createLogger } from "@tributary/shared/log";
import { type DuckSession, openDuckSession, sqlString } from "../runtime/duckdb.ts";
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
  /** The datasets' rows and column types as they are now, to compare with what a later run leaves. */
  hold(layer: "silver" | "gold", datasets: readonly string[]): Promise<HeldDatasets>;
  cleanup(): void;
}

/**
 * Datasets' rows and column types copied into DuckDB's memory. Compared in SQL because 50,000 rows
 * turned into JSON objects and deep-compared in JS cost seconds per check.
 */
export interface HeldDatasets extends Disposable {
  /**
   * How the datasets differ now from when they were held, as rows (empty when identical): a column
   * list that differs in name or type, else up to five rows on each side that the other lacks, as a
   * multiset (a row held twice and now once is a difference).
   */
  differences(): Promise<Record<string, unknown>[]>;
}

async function holdDatasets(
  scan: (dataset: string) => string,
  datasets: readonly string[],
): Promise<HeldDatasets> {
  const duck: DuckSession = await openDuckSession();
  const columns = (from: string) =>
    duck.rows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${from})`);
  try {
    for (const [i, ds] of datasets.entries())
      await duck.run(`CREATE TABLE held${i} AS SELECT * FROM ${scan(ds)}`);
  } catch (err) {
    duck.close();
    throw err;
  }
  return {
    async differences() {
      const out: Record<string, unknown>[] = [];
      for (const [i, dataset] of datasets.entries()) {
        const [held, now] = [await columns(`held${i}`), await columns(scan(dataset))];
        if (JSON.stringify(held) !== JSON.stringify(now)) {
          out.push({ dataset, held, now });
          continue;
        }
        const only = (side: string, a: string, b: string) =>
          `(SELECT ${sqlString(dataset)} AS dataset, ${sqlString(side)} AS side, * FROM (FROM ${a} EXCEPT ALL FROM ${b}) LIMIT 5)`;
        out.push(
          ...(await duck.rows(
            `${only("held only", `held${i}`, scan(dataset))} UNION ALL BY NAME ${only("now only", scan(dataset), `held${i}`)}`,
          )),
        );
      }
      return out;
    },
    [Symbol.dispose]() {
      duck.close();
    },
  };
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
  const scan = (layer: string, dataset: string): string =>
    `read_parquet(${sqlString(`${root}/${layer}/${dataset}/**/*.parquet`)}, hive_partitioning = false, union_by_name = true)`;
  return {
    root,
    store,
    commitLog,
    env,
    async query(sql: string) {
      using duck = await openDuckSession();
      return await duck.rows(sql);
    },
    scan,
    hold(layer, datasets) {
      return holdDatasets((dataset) => scan(layer, dataset), datasets);
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}
