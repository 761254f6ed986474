/**
 * A generation of the bronze writer's buffer: the DuckDB staging tables (one per topic) and the
 * topic-partition ranges appended since the last flush. A flush seals one generation while the next
 * keeps buffering.
 */
import type { BronzeDataset } from "./datasets.ts";
import type { BronzeStage, StageTable, StageTp } from "./stage-table.ts";

export interface GenTp extends StageTp {
  readonly key: string;
  readonly epoch: number;
  readonly ds: BronzeDataset;
  readonly first: bigint;
  last: number;
  rows: number;
}

export interface Generation {
  readonly id: number;
  /** Staging tables by topic, created on first use (creation is async). */
  readonly tables: Map<string, Promise<StageTable>>;
  sealed: boolean;
  readonly tps: Map<string, GenTp>;
  firstRowAt: number;
  rows: number;
  bytes: number;
  nextTpId: number;
}

export function newGeneration(id: number): Generation {
  return {
    id,
    tables: new Map(),
    sealed: false,
    tps: new Map(),
    firstRowAt: 0,
    rows: 0,
    bytes: 0,
    nextTpId: 0,
  };
}

/** The generation's staging table for `ds`, created on first use. */
export function tableFor(stage: BronzeStage, gen: Generation, ds: BronzeDataset): Promise<StageTable> {
  let table = gen.tables.get(ds.topic);
  if (table === undefined) {
    table = stage.newTable(ds);
    gen.tables.set(ds.topic, table);
  }
  return table;
}
