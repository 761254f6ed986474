/**
 * The challenge's hourly CSV files: one per symbol and hour, `<EXPORT_DIR>/KRAKEN/HH_DD_MM_YY_BTC_USD.csv`
 * (pattern and time zone configurable, see naming.ts), written from silver trades once the hour has
 * closed plus the grace period, and rewritten when late trades change it.
 *
 * Format (UTF-8, `\n` line ends, no BOM, no quoting needed):
 *   trade_id,ts,price,qty,side,ord_type
 *   61044952,2023-07-06T19:33:17.827736Z,30243.4000000000,0.3450767400,buy,market
 * Rows in trade_id order; ts is RFC 3339 UTC with microseconds whatever the file's time zone; price
 * and qty exactly as silver's DECIMAL(38,10), always 10 fractional digits. An hour without trades has
 * no file.
 *
 * Incremental on the silver trades change journal. A file is written to a hidden temporary name and
 * renamed over the old one (atomic), and only when its SHA-256 differs from the manifest's.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "@tributary/shared/config";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { ChangeJournal } from "../runtime/change-journal.ts";
import { type DuckSession, sqlStringList } from "../runtime/duckdb.ts";
import { checkAborted, clock, type LakeJobEnv, openJobDuck } from "../runtime/env.ts";
import { isRecord, loadJobState, saveJobState } from "../runtime/job-state.ts";
import type { LakeReader } from "../runtime/lake-reader.ts";
import { snapshotReader } from "../runtime/snapshot-reader.ts";
import {
  HOUR_MICROS,
  type HourPartition,
  hourPartitionKey,
  partitionsOfKeys,
  SILVER,
  SILVER_TRADES_JOB,
} from "../silver/datasets.ts";
import {
  checkPattern,
  csvRelativePath,
  type LocalHour,
  localHourId,
  localHoursOfUtcHour,
  parseLocalHourId,
  utcRangesOfLocalHour,
} from "./naming.ts";

export const CSV_EXPORT_JOB = "export.csv";
export const CSV_HEADER = "trade_id,ts,price,qty,side,ord_type";

export type ExportConfig = Config["export"];

interface ManifestEntry {
  readonly sha256: string;
  readonly rows: number;
  readonly writtenAt: string;
}

export interface CsvExportState {
  readonly v: 1;
  /** Last silver trades change entry read. */
  readonly watermark: number;
  /** `tributary.read.silver.kraken_trades` → the silver snapshot the last run read (absent before it did). */
  readonly read?: Readonly<Record<string, string>>;
  /** Files (`SYMBOL|YYYY-MM-DDTHH` local hour) changed but not yet closed + grace. */
  readonly pending: readonly string[];
  /** Relative path → what was written last. */
  readonly manifest: Readonly<Record<string, ManifestEntry>>;
  /** The pattern and zone the manifest was written with; a change re-exports everything. */
  readonly pattern: string;
  readonly timeZone: string;
  readonly updatedAt: string;
}

function isCsvExportState(value: unknown): value is CsvExportState {
  return (
    isRecord(value) &&
    value.v === 1 &&
    typeof value.watermark === "number" &&
    Array.isArray(value.pending) &&
    isRecord(value.manifest) &&
    (value.read === undefined || isRecord(value.read))
  );
}

export interface CsvExportOptions {
  /** Consider every symbol and hour silver holds (files are still only rewritten when they differ). */
  readonly rebuild?: boolean;
  /** Backfill: consider the local hours overlapping these UTC instants [from, to). */
  readonly range?: { readonly from: bigint; readonly to: bigint };
}

export interface CsvExportResult {
  readonly considered: number;
  readonly written: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly pending: number;
  readonly rows: number;
}

interface Candidate {
  readonly symbol: string;
  readonly hour: LocalHour;
}

const candidateId = (c: Candidate): string => `${c.symbol}|${localHourId(c.hour)}`;

export async function runCsvExport(
  env: LakeJobEnv,
  config: ExportConfig,
  opts: CsvExportOptions = {},
): Promise<CsvExportResult> {
  checkPattern(config.pattern);
  const loaded = await loadJobState(env.store, CSV_EXPORT_JOB, isCsvExportState);
  const sameNaming = loaded?.pattern === config.pattern && loaded?.timeZone === config.timeZone;
  const state = loaded && sameNaming ? loaded : undefined;
  const changes = await new ChangeJournal(env.store, SILVER_TRADES_JOB).since(state?.watermark ?? 0);
  using reader = snapshotReader(env, ["silver"]);
  const candidates = new Map<string, Candidate>();
  const add = (p: HourPartition): void => {
    for (const hour of localHoursOfUtcHour(p.hour, config.timeZone)) {
      const c = { symbol: p.symbol, hour };
      candidates.set(candidateId(c), c);
    }
  };
  for (const id of state?.pending ?? []) {
    const [symbol = "", hour = ""] = id.split("|");
    candidates.set(id, { symbol, hour: parseLocalHourId(hour) });
  }
  const full = opts.rebuild === true || changes.gap || state === undefined;
  if (full) {
    for (const p of await silverPartitions(reader)) add(p);
  } else {
    for (const e of changes.entries) {
      for (const p of e.partitions) {
        if (p.dataset === SILVER.trades) add({ symbol: p.symbol, hour: parseRfc3339Micros(p.hour) });
      }
    }
    // Silver appends its journal entry after its snapshot commit: the snapshot's own changes are added.
    for (const p of partitionsOfKeys(
      await reader.changedSinceRead(state.read, "silver", [SILVER.trades], env.log),
    ))
      add(p);
  }
  if (opts.range) {
    const { from, to } = opts.range;
    for (const p of await silverPartitions(reader)) if (p.hour + HOUR_MICROS > from && p.hour < to) add(p);
  }

  const now = clock(env);
  const grace = BigInt(config.graceMinutes) * 60_000_000n;
  const manifest: Record<string, ManifestEntry> = { ...(state?.manifest ?? {}) };
  const pending: string[] = [];
  let written = 0;
  let unchanged = 0;
  let deleted = 0;
  let rows = 0;
  using duck = await openJobDuck(env);
  for (const c of [...candidates.values()].sort((a, b) => (candidateId(a) < candidateId(b) ? -1 : 1))) {
    checkAborted(env, "csv export");
    const ranges = utcRangesOfLocalHour(c.hour, config.timeZone);
    const closesAt = ranges.at(-1)?.to; // ranges are in time order
    if (closesAt === undefined) continue; // a local hour skipped by a daylight-saving change
    if (now < closesAt + grace) {
      pending.push(candidateId(c));
      continue;
    }
    const rel = csvRelativePath(config.pattern, c.hour, c.symbol);
    const path = join(config.dir, rel);
    const body = await renderCsv(duck, reader, c.symbol, ranges);
    if (body === undefined) {
      if (existsSync(path)) {
        rmSync(path);
        deleted += 1;
      }
      delete manifest[rel];
      continue;
    }
    const sha256 = new Bun.CryptoHasher("sha256").update(body.text).digest("hex");
    if (manifest[rel]?.sha256 === sha256 && existsSync(path)) {
      unchanged += 1;
      continue;
    }
    writeAtomically(path, body.text);
    manifest[rel] = { sha256, rows: body.rows, writtenAt: formatMicros(now) };
    written += 1;
    rows += body.rows;
  }
  const next: CsvExportState = {
    v: 1,
    watermark: changes.last,
    read: { ...state?.read, ...(await reader.snapshotsRead()) },
    pending,
    manifest,
    pattern: config.pattern,
    timeZone: config.timeZone,
    updatedAt: formatMicros(now),
  };
  await saveJobState(env.store, CSV_EXPORT_JOB, next);
  const result = {
    considered: candidates.size,
    written,
    unchanged,
    deleted,
    pending: pending.length,
    rows,
  };
  env.log.info("csv export run", result);
  return result;
}

/** The CSV text of one symbol's trades in the UTC ranges, or undefined when there are none. */
async function renderCsv(
  duck: DuckSession,
  reader: LakeReader,
  symbol: string,
  ranges: ReadonlyArray<{ from: bigint; to: bigint }>,
): Promise<{ text: string; rows: number } | undefined> {
  const hours = new Set<bigint>();
  for (const r of ranges) {
    for (let h = r.from - (r.from % HOUR_MICROS); h < r.to; h += HOUR_MICROS) hours.add(h);
  }
  const keys = await reader.existing(
    [...hours].map((hour) => hourPartitionKey(SILVER.trades, { symbol, hour })),
  );
  if (keys.length === 0) return undefined;
  const where = ranges.map((r) => `(epoch_us(ts) >= ${r.from} AND epoch_us(ts) < ${r.to})`).join(" OR ");
  const rows =
    await duck.rows(`SELECT trade_id::VARCHAR AS trade_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
  price::VARCHAR AS price, qty::VARCHAR AS qty, side, ord_type
FROM read_parquet(${sqlStringList(await reader.paths(keys))}, hive_partitioning = false, union_by_name = true)
WHERE ${where} ORDER BY trade_id`);
  if (rows.length === 0) return undefined;
  const lines = rows.map((r) => `${r.trade_id},${r.ts},${r.price},${r.qty},${r.side},${r.ord_type}`);
  return { text: `${CSV_HEADER}\n${lines.join("\n")}\n`, rows: rows.length };
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(
    dirname(path),
    `.${path.slice(dirname(path).length + 1)}.tmp-${randomBytes(6).toString("hex")}`,
  );
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function silverPartitions(reader: LakeReader): Promise<HourPartition[]> {
  return partitionsOfKeys(await reader.parquetKeys(`silver/${SILVER.trades}/`));
}
