/**
 * What a Kafka message is, for a reader: a Debezium change event (operation, table, LSN, before and
 * after), a JSON document, text, or bytes; and, on a dead-letter topic, the reason, source and
 * original topic from Tributary's DLQ headers. Decoding never throws: bytes that are not what they
 * seem stay shown as bytes.
 */
import { DLQ_HEADERS } from "@tributary/shared/contracts/topics";
import { formatMicros } from "@tributary/shared/time";
import type { RawMessage } from "./reader.ts";

export type DecodedValue =
  | { readonly kind: "empty" }
  | {
      readonly kind: "debezium";
      readonly op: string;
      readonly table: string;
      readonly lsn: string | null;
      readonly txId: string | null;
      /** When the source committed the change (RFC 3339 UTC), from `source.ts_ms`. */
      readonly committedAt: string | null;
      readonly before: unknown;
      readonly after: unknown;
    }
  | { readonly kind: "json"; readonly json: unknown }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "bytes"; readonly hex: string };

export interface DeadLetter {
  readonly reason: string;
  readonly source: string | null;
  readonly originalTopic: string | null;
  readonly at: string | null;
}

export interface DecodedMessage {
  readonly partition: number;
  readonly offset: string;
  /** The broker's timestamp, RFC 3339 UTC. */
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: DecodedValue;
  /** The value's full size in bytes (what is shown may be cut). */
  readonly valueBytes: number;
  readonly truncated: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly deadLetter: DeadLetter | null;
}

const OPS: Readonly<Record<string, string>> = {
  r: "read (snapshot)",
  c: "create",
  u: "update",
  d: "delete",
  t: "truncate",
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes.subarray(0, 4096), (b) => b.toString(16).padStart(2, "0")).join(" ");

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Debezium's envelope: `op` in r c u d t and a `source` with the connector's coordinates. */
function debezium(json: unknown): DecodedValue | undefined {
  // Debezium with schemas enabled wraps the envelope in {"schema", "payload"}.
  const env = isObject(json) && isObject(json.payload) && "schema" in json ? json.payload : json;
  if (!isObject(env) || typeof env.op !== "string" || !(env.op in OPS) || !isObject(env.source))
    return undefined;
  const s = env.source;
  const str = (v: unknown): string | null =>
    typeof v === "string" || typeof v === "number" || typeof v === "bigint" ? String(v) : null;
  const tsMs = typeof s.ts_ms === "number" ? s.ts_ms : null;
  return {
    kind: "debezium",
    op: OPS[env.op] ?? env.op,
    table: [s.schema, s.table].filter((p) => typeof p === "string").join("."),
    lsn: str(s.lsn),
    txId: str(s.txId),
    committedAt: tsMs === null ? null : formatMicros(BigInt(tsMs) * 1000n),
    before: env.before ?? null,
    after: env.after ?? null,
  };
}

export function decodeValue(bytes: Uint8Array | null): DecodedValue {
  if (bytes === null || bytes.length === 0) return { kind: "empty" };
  const t = text(bytes);
  if (t === undefined) return { kind: "bytes", hex: hex(bytes) };
  const trimmed = t.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const json: unknown = JSON.parse(t);
      return debezium(json) ?? { kind: "json", json };
    } catch {
      // not JSON after all (or cut): show the text
    }
  }
  return { kind: "text", text: t };
}

export function deadLetter(headers: Readonly<Record<string, string>>): DeadLetter | null {
  const reason = headers[DLQ_HEADERS.reason];
  if (reason === undefined) return null;
  return {
    reason,
    source: headers[DLQ_HEADERS.source] ?? null,
    originalTopic: headers[DLQ_HEADERS.topic] ?? null,
    at: headers[DLQ_HEADERS.at] ?? null,
  };
}

export function decodeMessage(m: RawMessage): DecodedMessage {
  const key = m.key === null ? null : (text(m.key) ?? `0x ${hex(m.key)}`);
  return {
    partition: m.partition,
    offset: m.offset,
    timestamp: formatMicros(BigInt(m.timestamp) * 1000n),
    key,
    value: decodeValue(m.value),
    valueBytes: m.valueBytes,
    truncated: (m.value?.length ?? 0) < m.valueBytes,
    headers: m.headers,
    deadLetter: deadLetter(m.headers),
  };
}
