import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { resultToArrowIpc } from "./arrow.ts";
import { QueryEngine } from "./engine.ts";

let engine: QueryEngine;
let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "arrow-"));
  engine = await QueryEngine.create({ lakeRoot: root });
});
afterAll(() => {
  engine.close();
  rmSync(root, { recursive: true, force: true });
});

describe("query results as Arrow IPC", () => {
  test("decimals, big integers, timestamps, dates and bytes keep their exact types and values", async () => {
    const result = await engine.query(
      `SELECT 60123.45678901::DECIMAL(18,8) AS price, 9007199254740993::BIGINT AS big,
        TIMESTAMPTZ '2024-05-01 14:00:00.123456+00' AS ts, DATE '2024-05-01' AS d, '{"a":1}'::BLOB AS raw,
        NULL::DECIMAL(18,8) AS missing`,
      { rowLimit: 10, timeoutMs: 5000 },
    );
    expect(result.rows[0]).toEqual([
      "60123.45678901",
      "9007199254740993",
      "2024-05-01T14:00:00.123456Z",
      "2024-05-01",
      '{"a":1}',
      null,
    ]);
    const table = tableFromIPC(resultToArrowIpc(result));
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([
      "Decimal[18e+8]",
      "Int64",
      "Timestamp<MICROSECOND, UTC>",
      "Date32<DAY>",
      "Binary",
      "Decimal[18e+8]",
    ]);
    const row = table.get(0);
    expect(row?.big).toBe(9007199254740993n);
    expect(row?.ts).toBe(Date.parse("2024-05-01T14:00:00.123Z") + 0.456);
    expect(new TextDecoder().decode(row?.raw as Uint8Array)).toBe('{"a":1}');
    expect(row?.missing).toBeNull();
  });
});
