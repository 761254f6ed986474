/**
 * ZMTP 3.x, ZeroMQ's wire protocol (RFC 23 and 37), with the NULL mechanism: the 64-byte greeting,
 * frames (MORE / LONG / COMMAND flags), and the commands a Jupyter kernel meets (READY with its
 * metadata, SUBSCRIBE / CANCEL, PING / PONG, ERROR). Pure functions over bytes, no I/O: the npm
 * `zeromq` binding crashes under Bun (docs/notebooks.md, "The kernel"), so the kernel
 * speaks the protocol itself, as Deno's kernel does with a pure-Rust ZeroMQ.
 */

export const GREETING_BYTES = 64;
const MORE = 0x01;
const LONG = 0x02;
const COMMAND = 0x04;

/** Bounds on what a peer may send; a peer over them is disconnected. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const MAX_MESSAGE_FRAMES = 10_000;

export class ZmtpError extends Error {
  override readonly name = "ZmtpError";
}

/** Our greeting: signature, version 3.1, mechanism NULL, as-server 0, zero filler. */
export function greeting(): Uint8Array {
  const g = new Uint8Array(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.set(new TextEncoder().encode("NULL"), 12);
  return g;
}

export interface PeerGreeting {
  readonly major: number;
  readonly minor: number;
  readonly mechanism: string;
}

export function parseGreeting(g: Uint8Array): PeerGreeting {
  if (g.length < GREETING_BYTES || g[0] !== 0xff || g[9] !== 0x7f) {
    throw new ZmtpError("not a ZMTP peer: bad greeting signature");
  }
  const major = g[10] ?? 0;
  if (major < 3) throw new ZmtpError(`ZMTP ${major}.x peers are not supported (3.x needed)`);
  const mechanism = new TextDecoder().decode(g.subarray(12, 32)).replace(/\0+$/, "");
  if (mechanism !== "NULL")
    throw new ZmtpError(`security mechanism ${mechanism} is not supported (NULL only)`);
  return { major, minor: g[11] ?? 0, mechanism };
}

/** Encodes a whole multipart message as one buffer (one write per message). */
export function encodeMessage(frames: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const f of frames) size += f.length + (f.length > 255 ? 9 : 2);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  frames.forEach((f, i) => {
    const more = i < frames.length - 1 ? MORE : 0;
    at = writeFrameHeader(out, view, at, more, f.length);
    out.set(f, at);
    at += f.length;
  });
  return out;
}

/** A command frame: name length, name, body. */
export function encodeCommand(name: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const payload = new Uint8Array(1 + nameBytes.length + body.length);
  payload[0] = nameBytes.length;
  payload.set(nameBytes, 1);
  payload.set(body, 1 + nameBytes.length);
  const out = new Uint8Array(payload.length + (payload.length > 255 ? 9 : 2));
  const at = writeFrameHeader(out, new DataView(out.buffer), 0, COMMAND, payload.length);
  out.set(payload, at);
  return out;
}

function writeFrameHeader(
  out: Uint8Array,
  view: DataView,
  at: number,
  flags: number,
  length: number,
): number {
  if (length > 255) {
    out[at] = flags | LONG;
    view.setBigUint64(at + 1, BigInt(length));
    return at + 9;
  }
  out[at] = flags;
  out[at + 1] = length;
  return at + 2;
}

/** READY's metadata: 1-byte name length, name, 4-byte value length, value. */
export function encodeMetadata(properties: Readonly<Record<string, Uint8Array | string>>): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const n = enc.encode(name);
    const v = typeof raw === "string" ? enc.encode(raw) : raw;
    const head = new Uint8Array(1 + n.length + 4);
    head[0] = n.length;
    head.set(n, 1);
    new DataView(head.buffer).setUint32(1 + n.length, v.length);
    parts.push(head, v);
  }
  return concat(parts);
}

export function decodeMetadata(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    const nameLength = body[at] ?? 0;
    if (at + 1 + nameLength + 4 > body.length) throw new ZmtpError("truncated READY metadata");
    const name = new TextDecoder().decode(body.subarray(at + 1, at + 1 + nameLength));
    const valueLength = view.getUint32(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (start + valueLength > body.length) throw new ZmtpError("truncated READY metadata value");
    out.set(name.toLowerCase(), body.subarray(start, start + valueLength));
    at = start + valueLength;
  }
  return out;
}

export type Incoming =
  | { readonly kind: "greeting"; readonly greeting: PeerGreeting }
  | { readonly kind: "command"; readonly name: string; readonly body: Uint8Array }
  | { readonly kind: "message"; readonly frames: Uint8Array[] };

/**
 * Incremental decoder of one connection's byte stream: the greeting first, then frames assembled
 * into commands and multipart messages. Bytes are kept in one growing buffer read by offset.
 */
export class StreamDecoder {
  private buffer = new Uint8Array(4096);
  private start = 0;
  private end = 0;
  private greeted = false;
  private partial: Uint8Array[] = [];

  push(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buffer.length) {
      const live = this.end - this.start;
      if (live + chunk.length <= this.buffer.length) {
        this.buffer.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array((live + chunk.length) * 2);
        next.set(this.buffer.subarray(this.start, this.end), 0);
        this.buffer = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next complete item, or undefined until more bytes arrive. */
  next(): Incoming | undefined {
    if (!this.greeted) {
      if (this.end - this.start < GREETING_BYTES) return undefined;
      const g = parseGreeting(this.take(GREETING_BYTES));
      this.greeted = true;
      return { kind: "greeting", greeting: g };
    }
    for (;;) {
      const available = this.end - this.start;
      if (available < 2) return undefined;
      const flags = this.buffer[this.start] ?? 0;
      let length: number;
      let headerBytes: number;
      if (flags & LONG) {
        if (available < 9) return undefined;
        const big = new DataView(this.buffer.buffer, this.start + 1, 8).getBigUint64(0);
        if (big > BigInt(MAX_FRAME_BYTES)) throw new ZmtpError(`frame of ${big} bytes is over the limit`);
        length = Number(big);
        headerBytes = 9;
      } else {
        length = this.buffer[this.start + 1] ?? 0;
        headerBytes = 2;
      }
      if (available < headerBytes + length) return undefined;
      this.start += headerBytes;
      const payload = this.take(length);
      if (flags & COMMAND) {
        if (this.partial.length > 0) throw new ZmtpError("command frame inside a multipart message");
        const nameLength = payload[0] ?? 0;
        if (1 + nameLength > payload.length) throw new ZmtpError("truncated command name");
        const name = new TextDecoder().decode(payload.subarray(1, 1 + nameLength));
        return { kind: "command", name, body: payload.subarray(1 + nameLength) };
      }
      this.partial.push(payload);
      if (this.partial.length > MAX_MESSAGE_FRAMES) throw new ZmtpError("too many frames in one message");
      if (flags & MORE) continue;
      const frames = this.partial;
      this.partial = [];
      return { kind: "message", frames };
    }
  }

  /** Copies `n` bytes off the front, so callers keep them after the buffer is reused. */
  private take(n: number): Uint8Array {
    const out = this.buffer.slice(this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return out;
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > data.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}
