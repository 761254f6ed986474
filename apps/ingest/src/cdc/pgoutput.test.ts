import { describe, expect, test } from "bun:test";
import { decodePgoutput, PgoutputDecodeError, UNCHANGED_TOAST } from "./pgoutput.ts";

// Builders for pgoutput messages as PostgreSQL's protocol documentation lays them out.
const u8 = (n: number): Buffer => Buffer.from([n]);
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const i64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, "utf8"), u8(0)]);
const ch = (c: string): Buffer => Buffer.from(c, "ascii");
const text = (s: string): Buffer => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([ch("t"), i32(b.length), b]);
};
const tuple = (...cols: Buffer[]): Buffer => Buffer.concat([i16(cols.length), ...cols]);
const PG_EPOCH = 946_684_800_000_000n;

describe("pgoutput decoding", () => {
  test("Begin: final LSN, commit time in Unix µs, xid as unsigned", () => {
    const msg = decodePgoutput(
      Buffer.concat([ch("B"), i64(0x16b374d848n), i64(777_000_001n), i32(0xfffffff0)]),
    );
    expect(msg).toEqual({
      tag: "begin",
      finalLsn: 0x16b374d848n,
      commitTimeMicros: 777_000_001n + PG_EPOCH,
      xid: 0xfffffff0,
    });
  });

  test("Commit: commit LSN and end LSN", () => {
    const msg = decodePgoutput(Buffer.concat([ch("C"), u8(0), i64(100n), i64(180n), i64(5n)]));
    expect(msg).toEqual({ tag: "commit", commitLsn: 100n, endLsn: 180n, commitTimeMicros: 5n + PG_EPOCH });
  });

  test("Relation: schema, table, replica identity and key flags per column", () => {
    const msg = decodePgoutput(
      Buffer.concat([
        ch("R"),
        i32(16385),
        str("public"),
        str("tesouro_prices"),
        ch("d"),
        i16(2),
        u8(1),
        str("bond_type"),
        i32(25),
        i32(-1),
        u8(0),
        str("buy_rate"),
        i32(1700),
        i32(589830),
      ]),
    );
    expect(msg).toEqual({
      tag: "relation",
      relationOid: 16385,
      schema: "public",
      table: "tesouro_prices",
      replicaIdentity: "default",
      columns: [
        { isKey: true, name: "bond_type", typeOid: 25, typeMod: -1 },
        { isKey: false, name: "buy_rate", typeOid: 1700, typeMod: 589830 },
      ],
    });
  });

  test("Insert keeps values as PostgreSQL's text, with null and UTF-8 intact", () => {
    const msg = decodePgoutput(
      Buffer.concat([
        ch("I"),
        i32(16385),
        ch("N"),
        tuple(text("Tesouro IPCA+ ção"), ch("n"), text("4154.13")),
      ]),
    );
    expect(msg).toEqual({
      tag: "insert",
      relationOid: 16385,
      newTuple: ["Tesouro IPCA+ ção", null, "4154.13"],
    });
  });

  test("Update with an old key (K), with a full old row (O), and without old values", () => {
    const key = decodePgoutput(
      Buffer.concat([
        ch("U"),
        i32(1),
        ch("K"),
        tuple(text("1"), ch("n")),
        ch("N"),
        tuple(text("2"), ch("u")),
      ]),
    );
    expect(key).toEqual({
      tag: "update",
      relationOid: 1,
      oldKind: "key",
      oldTuple: ["1", null],
      newTuple: ["2", UNCHANGED_TOAST],
    });
    const full = decodePgoutput(
      Buffer.concat([
        ch("U"),
        i32(1),
        ch("O"),
        tuple(text("1"), text("a")),
        ch("N"),
        tuple(text("1"), text("b")),
      ]),
    );
    expect(full).toMatchObject({ oldKind: "full", oldTuple: ["1", "a"], newTuple: ["1", "b"] });
    const plain = decodePgoutput(Buffer.concat([ch("U"), i32(1), ch("N"), tuple(text("1"), text("b"))]));
    expect(plain).toMatchObject({ oldKind: null, oldTuple: null, newTuple: ["1", "b"] });
  });

  test("Delete with a key or a full row; Truncate with its relations and options", () => {
    expect(decodePgoutput(Buffer.concat([ch("D"), i32(1), ch("K"), tuple(text("9"))]))).toEqual({
      tag: "delete",
      relationOid: 1,
      oldKind: "key",
      oldTuple: ["9"],
    });
    expect(decodePgoutput(Buffer.concat([ch("T"), i32(2), u8(3), i32(10), i32(11)]))).toEqual({
      tag: "truncate",
      relationOids: [10, 11],
      cascade: true,
      restartIdentity: true,
    });
  });

  test("streaming messages, binary values and truncated messages are refused with a clear error", () => {
    expect(() => decodePgoutput(Buffer.concat([ch("S"), i32(1), u8(1)]))).toThrow(
      "streaming and two-phase are not enabled",
    );
    expect(() =>
      decodePgoutput(Buffer.concat([ch("I"), i32(1), ch("N"), i16(1), ch("b"), i32(1), u8(1)])),
    ).toThrow(PgoutputDecodeError);
    expect(() => decodePgoutput(Buffer.concat([ch("B"), i64(1n)]))).toThrow("message ends early");
  });
});
