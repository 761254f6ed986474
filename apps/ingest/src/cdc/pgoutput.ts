/**
 * Decoder for PostgreSQL's built-in `pgoutput` logical replication messages (protocol versions 1
 * and 2 without `streaming`): https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 *
 * Column values stay exactly as PostgreSQL wrote them (text form); typing happens in
 * column-values.ts. We decode ourselves rather than through pg-logical-replication's parser because
 * that parser runs every value through node-postgres' global type parsers (a `date` becomes a JS Date
 * at local midnight, `timestamptz` loses its microseconds, jsonb numbers are re-rounded) and turns an
 * unchanged TOAST value into `undefined`; see docs/cdc.md "Client library".
 */

/** A TOASTed value that did not change: pgoutput sends the marker `u` instead of the value. */
export const UNCHANGED_TOAST: unique symbol = Symbol("unchanged-toast");
export type TupleValue = string | null | typeof UNCHANGED_TOAST;
export type Tuple = readonly TupleValue[];

export type ReplicaIdentity = "default" | "nothing" | "full" | "index";

export interface RelationColumn {
  /** Part of the replica identity (the key PostgreSQL sends for updates and deletes). */
  readonly isKey: boolean;
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
}

export interface BeginMessage {
  readonly tag: "begin";
  /** LSN of the transaction's commit record. */
  readonly finalLsn: bigint;
  /** Commit time, µs since the Unix epoch. */
  readonly commitTimeMicros: bigint;
  readonly xid: number;
}
export interface CommitMessage {
  readonly tag: "commit";
  readonly commitLsn: bigint;
  /** End of the commit record: the position to confirm once the transaction is safely delivered. */
  readonly endLsn: bigint;
  readonly commitTimeMicros: bigint;
}
export interface OriginMessage {
  readonly tag: "origin";
  readonly originLsn: bigint;
  readonly name: string;
}
export interface RelationMessage {
  readonly tag: "relation";
  readonly relationOid: number;
  readonly schema: string;
  readonly table: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly RelationColumn[];
}
export interface TypeMessage {
  readonly tag: "type";
  readonly typeOid: number;
  readonly schema: string;
  readonly name: string;
}
export interface InsertMessage {
  readonly tag: "insert";
  readonly relationOid: number;
  readonly newTuple: Tuple;
}
export interface UpdateMessage {
  readonly tag: "update";
  readonly relationOid: number;
  /** Old values: the key columns (`K`, other columns null) or the whole row (`O`, REPLICA IDENTITY FULL). */
  readonly oldTuple: Tuple | null;
  readonly oldKind: "key" | "full" | null;
  readonly newTuple: Tuple;
}
export interface DeleteMessage {
  readonly tag: "delete";
  readonly relationOid: number;
  readonly oldTuple: Tuple;
  readonly oldKind: "key" | "full";
}
export interface TruncateMessage {
  readonly tag: "truncate";
  readonly relationOids: readonly number[];
  readonly cascade: boolean;
  readonly restartIdentity: boolean;
}
export interface LogicalMessage {
  readonly tag: "message";
  readonly transactional: boolean;
  readonly lsn: bigint;
  readonly prefix: string;
  readonly content: Uint8Array;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

export class PgoutputDecodeError extends Error {
  override readonly name = "PgoutputDecodeError";
}

/** µs between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

const IDENTITY: Readonly<Record<string, ReplicaIdentity>> = {
  d: "default",
  n: "nothing",
  f: "full",
  i: "index",
};

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new PgoutputDecodeError(
        `message ends early: need ${n} bytes at offset ${this.pos} of ${this.buf.length}`,
      );
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new PgoutputDecodeError(`unterminated string at offset ${this.pos}`);
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  text(n: number): string {
    this.need(n);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

function tuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const out: TupleValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    switch (kind) {
      case 0x74: // t: text
        out[i] = r.text(r.i32());
        break;
      case 0x6e: // n: null
        out[i] = null;
        break;
      case 0x75: // u: unchanged TOAST
        out[i] = UNCHANGED_TOAST;
        break;
      case 0x62: // b: binary, only with the `binary` option, which we never set
        throw new PgoutputDecodeError("binary tuple data received, but the stream was started in text mode");
      default:
        throw new PgoutputDecodeError(`unknown tuple value kind 0x${kind.toString(16)}`);
    }
  }
  return out;
}

function timestamp(r: Reader): bigint {
  return r.i64() + PG_EPOCH_MICROS;
}

/** Decodes one pgoutput message (the payload of an XLogData frame). */
export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = r.u8();
  switch (tag) {
    case 0x42: // B
      return { tag: "begin", finalLsn: r.u64(), commitTimeMicros: timestamp(r), xid: r.u32() };
    case 0x43: {
      // C
      r.u8(); // flags, unused
      return { tag: "commit", commitLsn: r.u64(), endLsn: r.u64(), commitTimeMicros: timestamp(r) };
    }
    case 0x4f: // O
      return { tag: "origin", originLsn: r.u64(), name: r.cstring() };
    case 0x52: {
      // R
      const relationOid = r.u32();
      const schema = r.cstring();
      const table = r.cstring();
      const ident = String.fromCharCode(r.u8());
      const replicaIdentity = IDENTITY[ident];
      if (!replicaIdentity)
        throw new PgoutputDecodeError(`unknown replica identity ${JSON.stringify(ident)}`);
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ isKey: (flags & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: "relation", relationOid, schema, table, replicaIdentity, columns };
    }
    case 0x59: // Y
      return { tag: "type", typeOid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 0x49: {
      // I
      const relationOid = r.u32();
      expectByte(r, 0x4e, "insert");
      return { tag: "insert", relationOid, newTuple: tuple(r) };
    }
    case 0x55: {
      // U
      const relationOid = r.u32();
      let sub = r.u8();
      let oldTuple: Tuple | null = null;
      let oldKind: "key" | "full" | null = null;
      if (sub === 0x4b || sub === 0x4f) {
        oldKind = sub === 0x4b ? "key" : "full";
        oldTuple = tuple(r);
        sub = r.u8();
      }
      if (sub !== 0x4e) throw new PgoutputDecodeError(`update: expected N, got 0x${sub.toString(16)}`);
      return { tag: "update", relationOid, oldTuple, oldKind, newTuple: tuple(r) };
    }
    case 0x44: {
      // D
      const relationOid = r.u32();
      const sub = r.u8();
      if (sub !== 0x4b && sub !== 0x4f)
        throw new PgoutputDecodeError(`delete: expected K or O, got 0x${sub.toString(16)}`);
      return { tag: "delete", relationOid, oldKind: sub === 0x4b ? "key" : "full", oldTuple: tuple(r) };
    }
    case 0x54: {
      // T
      const count = r.i32();
      const options = r.u8();
      const relationOids: number[] = [];
      for (let i = 0; i < count; i++) relationOids.push(r.u32());
      return {
        tag: "truncate",
        relationOids,
        cascade: (options & 1) === 1,
        restartIdentity: (options & 2) === 2,
      };
    }
    case 0x4d: {
      // M
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const content = r.bytes(r.i32());
      return { tag: "message", transactional: (flags & 1) === 1, lsn, prefix, content };
    }
    default:
      throw new PgoutputDecodeError(
        `unexpected pgoutput message ${JSON.stringify(String.fromCharCode(tag))} (0x${tag.toString(16)}): streaming and two-phase are not enabled`,
      );
  }
}

function expectByte(r: Reader, byte: number, what: string): void {
  const got = r.u8();
  if (got !== byte) {
    throw new PgoutputDecodeError(
      `${what}: expected ${String.fromCharCode(byte)}, got 0x${got.toString(16)}`,
    );
  }
}
