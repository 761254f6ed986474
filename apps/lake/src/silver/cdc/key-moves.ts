/**
 * The versions of a keyed fold (`cdc_versions`), with the TOASTed values a primary-key change left
 * alone filled from the old key (key-moves.sql.ts). The old key's delete and the new key's create
 * share an LSN but not a key, so they can sit in different Kafka partitions, bronze commits and
 * runs: a create whose delete a run has not seen waits for it (held back to the next run), and a
 * delete leaves the old key's last row where a later run finds it (the key's state, or the departed
 * rows when the key is used again). Incremental runs and a rebuild then fold the same versions.
 */

import type { FoldContext } from "./fold-context.ts";
import {
  createDepartedSql,
  createMovesSql,
  fillChangesSql,
  HELD_EVENTS_SQL,
  HOLD_MORE_SQL,
  HOLD_SQL,
  HOLD_START_SQL,
  moveFillSql,
  NO_PENDING_SQL,
} from "./key-moves.sql.ts";
import { placeholdersSql } from "./keyed.sql.ts";
import { createVersionsSql } from "./replay.sql.ts";
import { departedDir, stateDir } from "./silver-state.ts";
import type { CdcColumn } from "./tables.ts";

/**
 * Builds `cdc_versions` from `cdc_live`, holding back (`cdc_pending`) key changes whose delete has
 * not arrived; returns how many events it held back.
 */
export async function foldVersions(
  ctx: Pick<FoldContext, "duck" | "reader">,
  columns: readonly CdcColumn[],
  dataset: string,
): Promise<number> {
  const { duck, reader } = ctx;
  await duck.run(NO_PENDING_SQL);
  const placeholders = Boolean(await duck.scalar(placeholdersSql(columns)));
  await duck.run(createMovesSql(placeholders ? columns : []));
  if (!placeholders) {
    await duck.run(createVersionsSql(columns, false));
    return 0;
  }
  const unpaired = Number(await duck.scalar("SELECT count(*) FROM cdc_moves WHERE d_ord IS NULL"));
  const files =
    unpaired === 0
      ? []
      : await reader.paths([
          ...(await reader.parquetKeys(stateDir(dataset))),
          ...(await reader.parquetKeys(departedDir(dataset))),
        ]);
  await duck.run(createDepartedSql(columns, files));
  let pending = 0;
  if (unpaired > 0) {
    await duck.run(HOLD_START_SQL);
    if (Number(await duck.scalar("SELECT count(*) FROM cdc_held_moves")) > 0) {
      // A held create holds its key's later events; a move whose delete is among them is held too.
      for (;;) {
        await duck.run(HELD_EVENTS_SQL);
        if (Number(await duck.scalar(`SELECT count(*) FROM (${HOLD_MORE_SQL})`)) === 0) break;
        await duck.run(`INSERT INTO cdc_held_moves ${HOLD_MORE_SQL}`);
      }
      for (const sql of HOLD_SQL) await duck.run(sql);
      pending = Number(await duck.scalar("SELECT count(*) FROM cdc_pending"));
    }
  }
  await duck.run(moveFillSql(columns, "cdc_move_fill", false));
  const moves = Number(await duck.scalar("SELECT count(*) FROM cdc_moves"));
  // A chain of key changes (a → b → c) settles one link a pass; links only point back in commit order.
  for (let pass = 0; ; pass++) {
    await duck.run(createVersionsSql(columns, true));
    if (moves === 0 || pass > moves) break;
    await duck.run(moveFillSql(columns, "cdc_move_fill_next", true));
    const changed = Number(await duck.scalar(fillChangesSql(columns)));
    await duck.run("CREATE OR REPLACE TEMP TABLE cdc_move_fill AS SELECT * FROM cdc_move_fill_next");
    if (changed === 0) break;
  }
  return pending;
}
