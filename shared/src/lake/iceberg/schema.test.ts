import { describe, expect, test } from "bun:test";
import { evolveSchema, IcebergSchemaError, icebergType, nameMapping } from "./schema.ts";

describe("nested columns", () => {
  const BOOK: [string, string][] = [
    ["symbol", "VARCHAR"],
    ["bids", 'STRUCT(price DECIMAL(38,10), "qty, lot" DECIMAL(38,10))[]'],
    ["tags", "VARCHAR[]"],
  ];

  test("lists and structs get field IDs after their column's, in order, as the Iceberg spec lays them out", () => {
    const { schema, lastColumnId } = evolveSchema(BOOK, undefined, 0);
    expect(schema.fields).toEqual([
      { id: 1, name: "symbol", required: false, type: "string" },
      {
        id: 2,
        name: "bids",
        required: false,
        type: {
          type: "list",
          "element-id": 3,
          "element-required": false,
          element: {
            type: "struct",
            fields: [
              { id: 4, name: "price", required: false, type: "decimal(38, 10)" },
              { id: 5, name: "qty, lot", required: false, type: "decimal(38, 10)" },
            ],
          },
        },
      },
      {
        id: 6,
        name: "tags",
        required: false,
        type: { type: "list", "element-id": 7, "element-required": false, element: "string" },
      },
    ]);
    expect(lastColumnId).toBe(7);
  });

  test("the name mapping finds a list's element as `element` and a struct's fields by name", () => {
    const { schema } = evolveSchema(BOOK, undefined, 0);
    expect(JSON.parse(nameMapping(schema))).toEqual([
      { "field-id": 1, names: ["symbol"] },
      {
        "field-id": 2,
        names: ["bids"],
        fields: [
          {
            "field-id": 3,
            names: ["element"],
            fields: [
              { "field-id": 4, names: ["price"] },
              { "field-id": 5, names: ["qty, lot"] },
            ],
          },
        ],
      },
      { "field-id": 6, names: ["tags"], fields: [{ "field-id": 7, names: ["element"] }] },
    ]);
  });

  test("evolution keeps nested IDs, gives an added column the IDs after the last, and refuses a changed shape", () => {
    const first = evolveSchema(BOOK, undefined, 0);
    const next = evolveSchema(
      [...BOOK, ["asks", "STRUCT(price DECIMAL(38,10))[]"]],
      first.schema,
      first.lastColumnId,
    );
    expect(next.schema.fields.slice(0, 3)).toEqual([...first.schema.fields]);
    expect(next.schema.fields[3]).toMatchObject({ id: 8, type: { "element-id": 9 } });
    expect(next.lastColumnId).toBe(10);
    expect(() =>
      evolveSchema(
        [
          ["symbol", "VARCHAR"],
          ["bids", "STRUCT(price DOUBLE)[]"],
          ["tags", "VARCHAR[]"],
        ],
        first.schema,
        7,
      ),
    ).toThrow(/column bids changes type/);
  });

  test("types Iceberg cannot hold exactly are refused, named, also inside a list or struct", () => {
    expect(() => icebergType("_lsn", "UBIGINT")).toThrow(IcebergSchemaError);
    expect(() => icebergType("m", "MAP(VARCHAR, INTEGER)")).toThrow(/column m: DuckDB type MAP/);
    expect(() => icebergType("b", "STRUCT(n UINTEGER)[]")).toThrow(
      /column b\.element\.n: DuckDB type UINTEGER/,
    );
  });

  test("TIME is refused with the reason: Spark cannot read a table holding an Iceberg time", () => {
    expect(() => icebergType("tm", "TIME")).toThrow(
      /column tm: a TIME column would make the table unreadable to Spark/,
    );
    expect(() => icebergType("tms", "TIME[]")).toThrow(/column tms\.element: a TIME column/);
  });
});
