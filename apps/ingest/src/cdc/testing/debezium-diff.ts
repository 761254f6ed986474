/**
 * The differential check against the real Debezium: the same PostgreSQL tables captured by both
 * tools, each topic read back, and every event compared after removing what legitimately differs
 * between two captures (processing times, the tool's name and version, the snapshot's own point).
 * What remains must be equal; docs/cdc.md "Differences from Debezium" lists each normalised field.
 */
import type { TopicRecord } from "./support.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Fields that differ between two captures by nature, each with its reason (docs/cdc.md). */
export const NORMALISED = {
  "ts_ms, ts_us, ts_ns": "when each tool processed the event",
  "source.version": "the writer's own release (`3.6.1.Final` / `tributary-cdc-2`)",
  "source.name": "the topic prefix of each tool",
  "source.sequence":
    "Debezium puts the previous transaction's commit LSN first, Tributary the event's own (identical across restarts)",
  "snapshot reads: source.ts_*, source.lsn, source.txId":
    "each tool takes its own snapshot at its own consistent point",
  "headers __debezium.context.*": "Debezium's connector context (name, task, run id)",
} as const;

export interface ComparedEvent {
  readonly key: Json;
  readonly value: Json;
  readonly headers: Record<string, string>;
}

function parse(text: string | null): Json {
  return text === null ? null : (JSON.parse(text) as Json);
}

export function normaliseRecord(r: TopicRecord): ComparedEvent {
  const value = parse(r.value);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    delete value.ts_ms;
    delete value.ts_us;
    delete value.ts_ns;
    const source = value.source;
    if (source && typeof source === "object" && !Array.isArray(source)) {
      delete source.version;
      delete source.name;
      delete source.sequence;
      if (value.op === "r") {
        delete source.ts_ms;
        delete source.ts_us;
        delete source.ts_ns;
        delete source.lsn;
        delete source.txId;
      }
    }
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!k.startsWith("__debezium.context.")) headers[k] = v;
  return { key: parse(r.key), value, headers };
}

/** A transaction-topic event without its time (Debezium stamps BEGIN/END when it processes them). */
export function normaliseTransaction(r: TopicRecord): Json {
  const v = parse(r.value) as { [k: string]: Json };
  const { ts_ms: _t, ...rest } = v;
  return rest;
}

export interface EventDiff {
  readonly table: string;
  readonly index: number;
  readonly path: string;
  readonly debezium: Json | undefined;
  readonly tributary: Json | undefined;
}

/** Every differing leaf of two JSON values, by dotted path. */
export function jsonDiffs(
  a: Json | undefined,
  b: Json | undefined,
  path = "",
): { path: string; a: Json | undefined; b: Json | undefined }[] {
  const isObj = (x: Json | undefined): x is { [k: string]: Json } =>
    x !== null && x !== undefined && typeof x === "object" && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => jsonDiffs(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, a, b }];
}

/** Compares two tools' events of one table, position by position (one partition: a total order). */
export function compareTable(
  table: string,
  debezium: readonly ComparedEvent[],
  tributary: readonly ComparedEvent[],
): EventDiff[] {
  const out: EventDiff[] = [];
  const n = Math.max(debezium.length, tributary.length);
  for (let i = 0; i < n; i++) {
    const d = debezium[i];
    const t = tributary[i];
    for (const x of jsonDiffs(d as unknown as Json, t as unknown as Json))
      out.push({ table, index: i, path: x.path, debezium: x.a, tributary: x.b });
  }
  return out;
}
