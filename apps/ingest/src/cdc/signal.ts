/**
 * Debezium's source signalling channel (`signal.data.collection`): rows `(id, type, data)` inserted
 * into a signal table travel the replication stream like any change, so a signal sits in commit order
 * among the changes around it. The incremental snapshot's watermarks are rows of the same table.
 * Here: reading a signal row, creating the table, and sending an `execute-snapshot` (the CLI's).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { qualified, type TableRef, tableName } from "./catalog.ts";
import type { Tuple } from "./pgoutput.ts";

/** Debezium's signal type names (io.debezium.pipeline.signal.actions). */
export const SIGNAL_TYPE = {
  executeSnapshot: "execute-snapshot",
  stopSnapshot: "stop-snapshot",
  windowOpen: "snapshot-window-open",
  windowClose: "snapshot-window-close",
  log: "log",
} as const;

export type Signal =
  | { readonly kind: "execute-snapshot" | "stop-snapshot"; readonly id: string; readonly tables: string[] }
  | { readonly kind: "window-open" | "window-close"; readonly id: string; readonly chunkId: string }
  | { readonly kind: "log"; readonly id: string; readonly message: string };

/** A signal row that cannot be acted on; the message says why and what a valid one looks like. */
export class SignalError extends Error {
  override readonly name = "SignalError";
}

/** The signal row as JSON text, for the log and the dead-letter topic. */
export function signalRowText(tuple: Tuple): string {
  const text = (v: Tuple[number] | undefined): string | null => (typeof v === "string" ? v : null);
  return JSON.stringify({ id: text(tuple[0]), type: text(tuple[1]), data: text(tuple[2]) });
}

/**
 * A signal table row → its signal. Columns are read by position, as Debezium does: id, type, data.
 * `execute-snapshot` data: `{"data-collections": ["schema.table", …], "type": "incremental"}`.
 */
export function parseSignal(tuple: Tuple): Signal {
  const [id, type, data] = tuple;
  if (typeof id !== "string" || typeof type !== "string")
    throw new SignalError("a signal row needs an id and a type (columns 1 and 2 of the signal table)");
  switch (type) {
    case SIGNAL_TYPE.windowOpen:
    case SIGNAL_TYPE.windowClose: {
      const suffix = type === SIGNAL_TYPE.windowOpen ? "-open" : "-close";
      if (!id.endsWith(suffix)) throw new SignalError(`a ${type} signal's id must end with ${suffix}`);
      const kind = type === SIGNAL_TYPE.windowOpen ? "window-open" : "window-close";
      return { kind, id, chunkId: id.slice(0, -suffix.length) };
    }
    case SIGNAL_TYPE.log: {
      const message = (dataObject(type, data) as { message?: unknown }).message;
      if (typeof message !== "string") throw new SignalError('a log signal\'s data is {"message": "…"}');
      return { kind: "log", id, message };
    }
    case SIGNAL_TYPE.executeSnapshot:
    case SIGNAL_TYPE.stopSnapshot: {
      const body = dataObject(type, data);
      const snapshotType = body.type ?? "incremental";
      if (typeof snapshotType !== "string" || snapshotType.toLowerCase() !== "incremental")
        throw new SignalError(
          `${type}: snapshot type ${JSON.stringify(snapshotType)} is not supported; only "incremental" is`,
        );
      for (const option of ["additional-conditions", "surrogate-key"])
        if (option in body) throw new SignalError(`${type}: "${option}" is not supported`);
      const tables = body["data-collections"];
      const stopAll = type === SIGNAL_TYPE.stopSnapshot && tables === undefined;
      if (
        !stopAll &&
        (!Array.isArray(tables) || tables.length === 0 || tables.some((t) => typeof t !== "string"))
      )
        throw new SignalError(
          `${type}: "data-collections" must be a non-empty array of "schema.table" names`,
        );
      const kind = type === SIGNAL_TYPE.executeSnapshot ? "execute-snapshot" : "stop-snapshot";
      return { kind, id, tables: stopAll ? [] : [...new Set(tables as string[])] };
    }
    default:
      throw new SignalError(
        `unknown signal type ${JSON.stringify(type)}; known: ${Object.values(SIGNAL_TYPE).join(", ")}`,
      );
  }
}

function dataObject(type: string, data: Tuple[number] | undefined): Record<string, unknown> {
  if (typeof data !== "string") throw new SignalError(`a ${type} signal needs JSON in its data column`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (err) {
    throw new SignalError(
      `${type}: data is not JSON (${err instanceof Error ? err.message : String(err)}): ${data.slice(0, 200)}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new SignalError(`${type}: data must be a JSON object, got ${data.slice(0, 200)}`);
  return parsed as Record<string, unknown>;
}

/** Debezium's recommended signal table, created if it does not exist. Returns true when created. */
export async function ensureSignalTable(client: pg.Client, table: TableRef): Promise<boolean> {
  const exists = await client.query("SELECT to_regclass($1) AS oid", [qualified(table)]);
  if ((exists.rows[0] as { oid: string | null }).oid !== null) return false;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualified(table)} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)`,
  );
  return true;
}

/** Inserts a signal row; returns its id. */
export async function insertSignal(
  client: pg.Client,
  table: TableRef,
  type: string,
  data: unknown,
  id: string = randomUUID(),
): Promise<string> {
  await client.query(`INSERT INTO ${qualified(table)} VALUES ($1, $2, $3)`, [
    id,
    type,
    data === null ? null : JSON.stringify(data),
  ]);
  return id;
}

/** The CLI's `--snapshot-table`: an `execute-snapshot` signal for these tables. */
export async function requestIncrementalSnapshot(
  client: pg.Client,
  signalTable: TableRef,
  tables: readonly TableRef[],
): Promise<string> {
  return insertSignal(client, signalTable, SIGNAL_TYPE.executeSnapshot, {
    "data-collections": tables.map(tableName),
    type: "incremental",
  });
}
