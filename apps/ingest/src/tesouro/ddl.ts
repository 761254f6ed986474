/**
 * The Tesouro Direto price table: one row per (bond type, maturity, base date) with the morning
 * rates and unit prices as exact NUMERICs. A missing value is NULL, never 0.
 */
import type pg from "pg";

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

export const DEFAULT_TESOURO_TABLE: TableName = { schema: "public", table: "tesouro_prices" };

const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const tesouroQualified = (t: TableName): string => `${ident(t.schema)}.${ident(t.table)}`;

/** DDL for the table (idempotent). */
export function tesouroDdl(t: TableName): string {
  return `CREATE SCHEMA IF NOT EXISTS ${ident(t.schema)};
CREATE TABLE IF NOT EXISTS ${tesouroQualified(t)} (
  bond_type     text          NOT NULL,
  maturity_date date          NOT NULL,
  base_date     date          NOT NULL,
  buy_rate      numeric(9,2),
  sell_rate     numeric(9,2),
  buy_price     numeric(18,2),
  sell_price    numeric(18,2),
  base_price    numeric(18,2),
  PRIMARY KEY (bond_type, maturity_date, base_date)
);
COMMENT ON TABLE ${tesouroQualified(t)} IS 'Tesouro Direto morning rates (% a.a.) and unit prices (BRL) per bond and base date';`;
}

export async function createTesouroTable(
  client: pg.Client,
  t: TableName = DEFAULT_TESOURO_TABLE,
): Promise<void> {
  await client.query(tesouroDdl(t));
}
