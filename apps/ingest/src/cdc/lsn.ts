/** PostgreSQL log sequence numbers: `16/B374D848` in text, a 64-bit WAL position everywhere else. */

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export class LsnFormatError extends Error {
  override readonly name = "LsnFormatError";
}

export function parseLsn(text: string): bigint {
  const m = LSN_TEXT.exec(text);
  if (!m) throw new LsnFormatError(`not an LSN: ${JSON.stringify(text)} (expected e.g. 16/B374D848)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The LSN as a JSON number token: exact for any 64-bit value (Debezium writes `source.lsn` as int64). */
export function lsnNumberText(lsn: bigint): string {
  return lsn.toString(10);
}

export const maxLsn = (a: bigint, b: bigint): bigint => (a > b ? a : b);
