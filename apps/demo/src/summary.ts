/**
 * What the lake holds: rows and files per layer and dataset, read the way any reader would (DuckDB,
 * hive partitioning); the symbols that reached it with their market-time span; the reconciliation.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { openDuckSession, sqlString, sqlStringList } from "@tributary/lake/runtime/duckdb";
import { LAYERS, type Layer } from "@tributary/shared/lake/layout";

export interface DatasetSummary {
  readonly rows: number;
  readonly files: number;
  /** Seconds since the newest file was written. */
  readonly age_s: number;
}

export type LakeSummary = Record<Layer, Record<string, DatasetSummary>>;

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".parquet")) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Counts rows from Parquet footers (exact, cheap) for every dataset of a local lake. */
export async function summarizeLake(lakeDir: string): Promise<LakeSummary> {
  using duck = await openDuckSession();
  const summary = { bronze: {}, silver: {}, gold: {} } as LakeSummary;
  for (const layer of LAYERS) {
    const layerDir = join(lakeDir, layer);
    if (!existsSync(layerDir)) continue;
    for (const dataset of readdirSync(layerDir).sort()) {
      const files = parquetFiles(join(layerDir, dataset));
      if (files.length === 0) {
        summary[layer][dataset] = { rows: 0, files: 0, age_s: Number.POSITIVE_INFINITY };
        continue;
      }
      const rows = Number(
        await duck.scalar(
          `SELECT coalesce(sum(num_rows), 0)::BIGINT AS n FROM parquet_file_metadata(${sqlStringList(files)})`,
        ),
      );
      const newest = Math.max(...files.map((f) => statSync(f).mtimeMs));
      summary[layer][dataset] = {
        rows,
        files: files.length,
        age_s: Math.round((Date.now() - newest) / 100) / 10,
      };
    }
  }
  return summary;
}

export function countFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(suffix)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** Market time a symbol covers in the lake: its silver trades, first and last exchange time. */
export interface SymbolSpan {
  readonly trades: number;
  readonly first: string;
  readonly last: string;
  readonly hours: number;
}

/**
 * The symbols that reached silver (and only those), with the market time they span, and gold's candle
 * reconciliation with Kraken's own OHLC by status.
 */
export async function summarizeMarket(
  lakeDir: string,
): Promise<{ symbols: Record<string, SymbolSpan>; reconciliation: Record<string, number> }> {
  using duck = await openDuckSession();
  const glob = (layer: string, dataset: string) =>
    sqlString(join(lakeDir, layer, dataset, "**", "*.parquet"));
  const symbols: Record<string, SymbolSpan> = {};
  const reconciliation: Record<string, number> = {};
  if (parquetFiles(join(lakeDir, "silver", "kraken_trades")).length > 0) {
    const rows = await duck.rows(`SELECT symbol, count(*)::BIGINT AS n,
  strftime(min(ts), '%Y-%m-%dT%H:%M:%SZ') AS first, strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') AS last,
  round((epoch(max(ts)) - epoch(min(ts))) / 3600, 1)::DOUBLE AS hours
FROM read_parquet(${glob("silver", "kraken_trades")}, hive_partitioning = false) GROUP BY symbol ORDER BY symbol`);
    for (const row of rows)
      symbols[String(row.symbol)] = {
        trades: Number(row.n),
        first: String(row.first),
        last: String(row.last),
        hours: Number(row.hours),
      };
  }
  if (parquetFiles(join(lakeDir, "gold", "candle_reconciliation")).length > 0) {
    const rows = await duck.rows(
      `SELECT status, count(*)::BIGINT AS n FROM read_parquet(${glob("gold", "candle_reconciliation")}, hive_partitioning = false) GROUP BY status ORDER BY status`,
    );
    for (const row of rows) reconciliation[String(row.status)] = Number(row.n);
  }
  return { symbols, reconciliation };
}
