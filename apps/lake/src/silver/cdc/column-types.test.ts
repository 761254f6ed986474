import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  chooseColumn,
  fieldType,
  mergeSources,
  rowTypes,
  SPECIAL_NUMBER,
  sourcesOf,
  valueFromText,
} from "./column-types.ts";

// Debezium's own schema of a table with every common PostgreSQL type (captured from the real
// connector; the DDL is in apps/ingest/src/cdc/connect-schema.test.ts).
const golden = JSON.parse(
  readFileSync(
    join(import.meta.dir, "../../../../ingest/src/cdc/golden/debezium-schema.golden.json"),
    "utf8",
  ),
);
const after = golden.value_schema.fields[1];

describe("silver column types from Kafka Connect schemas", () => {
  test("each PostgreSQL type of Debezium's schema maps to the DuckDB type that holds it exactly", () => {
    expect(Object.fromEntries(rowTypes(after) ?? [])).toEqual({
      id: "INTEGER",
      i2: "SMALLINT",
      i8: "BIGINT",
      n: "DECIMAL(12,3)",
      nv: "VARCHAR", // numeric without precision: exact text
      f4: "REAL",
      f8: "DOUBLE",
      b: "BOOLEAN",
      t: "VARCHAR",
      vc: "VARCHAR",
      c: "VARCHAR",
      d: "DATE",
      tm: "TIME",
      tm3: "TIME",
      ts: "TIMESTAMP",
      ts3: "TIMESTAMP",
      tstz: "TIMESTAMPTZ",
      tstz3: "TIMESTAMPTZ",
      tmtz: "VARCHAR",
      iv: "VARCHAR", // DuckDB reads no ISO 8601 interval: exact text
      u: "UUID",
      j: "JSON",
      jb: "JSON",
      by: "BLOB@base64",
      ia: "INTEGER[]",
      ta: "VARCHAR[]",
      na: "DECIMAL(5,2)[]",
      e: "VARCHAR", // enum: its label
      bp: "VARCHAR",
      n50: "VARCHAR", // precision 50 > DECIMAL's 38: exact text
      n5: "DECIMAL(5,0)",
      added: "INTEGER",
    });
  });

  test("the other value modes' encodings are read as what they encode, or kept as text", () => {
    const f = (type: string, name?: string, parameters?: Record<string, string>) =>
      fieldType({ type, ...(name ? { name } : {}), ...(parameters ? { parameters } : {}) });
    expect(f("int32", "io.debezium.time.Date")).toBe("DATE@epoch-days");
    expect(f("int64", "io.debezium.time.MicroTimestamp")).toBe("TIMESTAMP@epoch-micros");
    expect(f("int64", "org.apache.kafka.connect.data.Timestamp")).toBe("TIMESTAMP@epoch-millis");
    expect(f("int64", "io.debezium.time.MicroTime")).toBe("TIME@day-micros");
    expect(f("bytes", "org.apache.kafka.connect.data.Decimal", { scale: "2" })).toBe("VARCHAR");
    expect(f("int64", "io.debezium.time.MicroDuration")).toBe("VARCHAR");
    expect(f("string", undefined, { "__debezium.source.column.type": "NUMERIC" })).toBe("VARCHAR"); // no length
    expect(fieldType({ type: "array", items: { type: "bytes" } })).toBe("VARCHAR");
    expect(rowTypes({ field: "before", fields: [] })).toBeNull();
  });

  test("a column keeps its type only when every schema version agrees, and says why not", () => {
    const v1 = { field: "after", fields: [{ type: "string", field: "a", parameters: num(9, 2) }] };
    const v2 = {
      field: "after",
      fields: [
        { type: "string", field: "a", parameters: num(9, 2) },
        { type: "int32", field: "b" },
      ],
    };
    const v3 = { field: "after", fields: [{ type: "string", field: "a", parameters: num(12, 2) }] };
    expect(chooseColumn("a", sourcesOf([v1, v2], false))).toEqual({ name: "a", type: "DECIMAL(9,2)" });
    expect(chooseColumn("b", sourcesOf([v1, v2], false))).toEqual({ name: "b", type: "INTEGER" }); // added later: typed
    expect(chooseColumn("a", sourcesOf([v1, v3], false))).toEqual({
      name: "a",
      type: "VARCHAR",
      textReason: "type changed: DECIMAL(12,2), DECIMAL(9,2)",
    });
    // A schema-less envelope (old bronze, CDC_SCHEMAS=off) in the frame: every column is text, as before.
    expect(chooseColumn("a", sourcesOf([v1], true))).toEqual({ name: "a", type: "VARCHAR" });
    const nan = mergeSources(sourcesOf([v1], false), { schemaless: false, columns: { a: [SPECIAL_NUMBER] } });
    expect(chooseColumn("a", nan).textReason).toBe("holds NaN or ±Infinity, which DECIMAL cannot");
    expect(chooseColumn("by", sourcesOf([after], false))).toEqual({
      name: "by",
      type: "BLOB",
      encoding: "base64",
    });
  });

  test("values are read from the envelope's text by their encoding", () => {
    expect(valueFromText({ name: "x", type: "VARCHAR" }, "t")).toBe("t");
    expect(valueFromText({ name: "x", type: "TIME" }, "t")).toBe("CAST(rtrim(t, 'Z') AS TIME)");
    expect(valueFromText({ name: "x", type: "INTEGER[]" }, "t")).toBe("CAST(CAST(t AS JSON) AS INTEGER[])");
    expect(valueFromText({ name: "x", type: "BLOB", encoding: "base64" }, "t")).toBe("from_base64(t)");
    expect(valueFromText({ name: "x", type: "DATE", encoding: "epoch-days" }, "t")).toBe(
      "(DATE '1970-01-01' + CAST(t AS INTEGER))",
    );
  });
});

function num(p: number, s: number): Record<string, string> {
  return {
    "__debezium.source.column.type": "NUMERIC",
    "__debezium.source.column.length": String(p),
    "__debezium.source.column.scale": String(s),
  };
}
