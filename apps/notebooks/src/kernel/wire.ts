/**
 * Jupyter messages on the wire (messaging protocol 5.3): routing identities, the `<IDS|MSG>`
 * delimiter, the HMAC-SHA256 signature over header, parent header, metadata and content, then the
 * four JSON parts and any binary buffers. A message whose signature does not verify is refused.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = new TextEncoder().encode("<IDS|MSG>");

export interface Header {
  readonly msg_id: string;
  readonly session: string;
  readonly username: string;
  readonly date: string;
  readonly msg_type: string;
  readonly version: string;
}

export interface JupyterMessage {
  readonly identities: readonly Uint8Array[];
  readonly header: Header;
  /** Empty object when the message has no parent. */
  readonly parent_header: Partial<Header>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly content: Readonly<Record<string, unknown>>;
  readonly buffers: readonly Uint8Array[];
}

export class WireError extends Error {
  override readonly name = "WireError";
}

export class Signer {
  private readonly key: Uint8Array;

  constructor(
    key: string,
    readonly scheme: string = "hmac-sha256",
  ) {
    if (key !== "" && scheme !== "hmac-sha256") {
      throw new WireError(`signature scheme ${scheme} is not supported (hmac-sha256 only)`);
    }
    this.key = new TextEncoder().encode(key);
  }

  /** Hex HMAC of the four JSON parts; "" when the connection has no key (signing disabled). */
  sign(parts: readonly Uint8Array[]): string {
    if (this.key.length === 0) return "";
    const hmac = createHmac("sha256", this.key);
    for (const p of parts) hmac.update(p);
    return hmac.digest("hex");
  }

  verify(parts: readonly Uint8Array[], signature: string): boolean {
    if (this.key.length === 0) return true;
    const expected = Buffer.from(this.sign(parts), "utf8");
    const got = Buffer.from(signature, "utf8");
    return expected.length === got.length && timingSafeEqual(expected, got);
  }
}

export function parseMessage(frames: readonly Uint8Array[], signer: Signer): JupyterMessage {
  const at = frames.findIndex((f) => equals(f, DELIMITER));
  if (at < 0) throw new WireError("no <IDS|MSG> delimiter");
  const [signature, header, parent, metadata, content, ...buffers] = frames.slice(at + 1);
  if (!signature || !header || !parent || !metadata || !content) {
    throw new WireError(`a message needs 5 parts after the delimiter, got ${frames.length - at - 1}`);
  }
  if (!signer.verify([header, parent, metadata, content], new TextDecoder().decode(signature))) {
    throw new WireError("bad message signature");
  }
  const json = (part: Uint8Array, what: string): Record<string, unknown> => {
    try {
      const value = JSON.parse(new TextDecoder().decode(part)) as unknown;
      if (value === null || typeof value !== "object" || Array.isArray(value))
        throw new Error("not an object");
      return value as Record<string, unknown>;
    } catch (err) {
      throw new WireError(`${what} is not a JSON object: ${(err as Error).message}`);
    }
  };
  const h = json(header, "header") as unknown as Header;
  if (typeof h.msg_type !== "string" || typeof h.msg_id !== "string") {
    throw new WireError("header lacks msg_type or msg_id");
  }
  return {
    identities: frames.slice(0, at),
    header: h,
    parent_header: json(parent, "parent_header") as Partial<Header>,
    metadata: json(metadata, "metadata"),
    content: json(content, "content"),
    buffers,
  };
}

export interface Outgoing {
  readonly identities: readonly Uint8Array[];
  readonly msgType: string;
  readonly session: string;
  readonly parent: Partial<Header>;
  readonly content: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export function newHeader(msgType: string, session: string): Header {
  return {
    msg_id: randomUUID(),
    session,
    username: "kernel",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

export function serializeMessage(message: Outgoing, signer: Signer): Uint8Array[] {
  const enc = new TextEncoder();
  const parts = [
    newHeader(message.msgType, message.session),
    message.parent,
    message.metadata ?? {},
    message.content,
  ].map((p) => enc.encode(toJson(p)));
  return [...message.identities, DELIMITER, enc.encode(signer.sign(parts)), ...parts];
}

/** JSON for the wire: bigint as decimal text (lake values), non-finite numbers as null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
