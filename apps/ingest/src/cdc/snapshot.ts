/**
 * The consistent initial snapshot. The slot is created with EXPORT_SNAPSHOT, and a REPEATABLE READ
 * transaction adopts that snapshot (`SET TRANSACTION SNAPSHOT`), so the rows read here are exactly
 * the database as of the slot's consistent point: every change committed before it is in the
 * snapshot, every change after it comes from the stream. Rows are read through a cursor in batches.
 */
import type pg from "pg";
import { qualified, type TableInfo } from "./catalog.ts";
import type { Tuple } from "./pgoutput.ts";
import { quoteIdent, quoteLiteral } from "./replication-connection.ts";

/** Every value as PostgreSQL's text output, the same form pgoutput sends. */
const RAW_TEXT = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

export interface SnapshotBatch {
  readonly table: TableInfo;
  readonly rows: readonly Tuple[];
}

/** Opens the snapshot transaction. Must run while the connection that exported `snapshotName` is still open. */
export async function beginSnapshot(client: pg.Client, snapshotName: string): Promise<void> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`);
}

/** Reads each table under the snapshot, `batchRows` rows at a time. */
export async function* readSnapshot(
  client: pg.Client,
  tables: readonly TableInfo[],
  batchRows = 5000,
): AsyncGenerator<SnapshotBatch> {
  for (const table of tables) {
    const cols = table.columns.map((c) => quoteIdent(c.name)).join(", ");
    const cursor = quoteIdent(`tributary_snapshot_${table.oid}`);
    await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${cols} FROM ${qualified(table)}`);
    try {
      for (;;) {
        const res = await client.query({
          text: `FETCH FORWARD ${batchRows} FROM ${cursor}`,
          rowMode: "array",
          types: RAW_TEXT,
        });
        if (res.rows.length === 0) break;
        yield { table, rows: res.rows as Tuple[] };
        if (res.rows.length < batchRows) break;
      }
    } finally {
      await client.query(`CLOSE ${cursor}`).catch(() => undefined);
    }
  }
}
