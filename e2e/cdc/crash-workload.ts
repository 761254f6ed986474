/**
 * The random workload of the CDC crash test (crash.test.ts): transactions of 1–8 statements spread
 * over three tables — Tesouro (real sample, primary-key changes), a composite-key ledger of several
 * column types with a TOASTed text that most updates and key changes leave unchanged, and a keyless REPLICA
 * IDENTITY FULL tally where equal rows are common. Each table keeps its own mirror of what exists.
 */
import type pg from "pg";

/** One table's share of the workload. */
export interface TableWorkload {
  readonly table: string;
  /** Relative weight among the workloads of a transaction's statements. */
  readonly weight: number;
  /** Runs one random change inside the open transaction: what to apply to the mirror after COMMIT, or null when it skipped. */
  change(client: pg.Client, random: () => number): Promise<(() => void) | null>;
}

const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)] as T;
const int = (random: () => number, n: number): number => Math.floor(random() * n);
const date = (random: () => number, y0: number): string =>
  `${y0 + int(random, 8)}-${String(1 + int(random, 12)).padStart(2, "0")}-${String(1 + int(random, 28)).padStart(2, "0")}`;

/** The workload whose share of the summed weights holds `point`. */
function weighted(workloads: readonly TableWorkload[], point: number): TableWorkload {
  let left = point;
  for (const w of workloads) {
    left -= w.weight;
    if (left < 0) return w;
  }
  return workloads.at(-1) as TableWorkload;
}

/** Runs `count` random changes in transactions of 1–8 statements over `workloads`; returns the changes per table. */
export async function randomChanges(
  client: pg.Client,
  count: number,
  workloads: readonly TableWorkload[],
  random: () => number,
): Promise<Record<string, number>> {
  const total = workloads.reduce((n, w) => n + w.weight, 0);
  const perTable: Record<string, number> = Object.fromEntries(workloads.map((w) => [w.table, 0]));
  let done = 0;
  while (done < count) {
    const size = Math.min(count - done, 1 + int(random, 8));
    const staged: (() => void)[] = [];
    await client.query("BEGIN");
    for (let i = 0; i < size; i++) {
      const w = weighted(workloads, random() * total);
      const apply = await w.change(client, random);
      if (!apply) continue;
      staged.push(apply);
      perTable[w.table] = (perTable[w.table] ?? 0) + 1;
      done++;
    }
    await client.query("COMMIT");
    for (const apply of staged) apply();
  }
  return perTable;
}

/**
 * Which keys of a keyed table exist: `has` knows at once (so one transaction does not reuse a key),
 * the list `pick` draws from changes after COMMIT (through the returned closures).
 */
class KeyMirror<K> {
  private readonly existing: Set<string>;
  constructor(
    private readonly id: (k: K) => string,
    private readonly keys: K[] = [],
  ) {
    this.existing = new Set(keys.map(id));
  }
  get size(): number {
    return this.keys.length;
  }
  has(k: K): boolean {
    return this.existing.has(this.id(k));
  }
  /** A random existing key, or null when this transaction already deleted or moved it. */
  pick(random: () => number): K | null {
    const k = pick(this.keys, random);
    return this.has(k) ? k : null;
  }
  insert(k: K): () => void {
    this.existing.add(this.id(k));
    return () => this.keys.push(k);
  }
  delete(k: K): () => void {
    this.existing.delete(this.id(k));
    return () => this.keys.splice(this.keys.indexOf(k), 1);
  }
  move(k: K, to: K): () => void {
    this.existing.delete(this.id(k));
    this.existing.add(this.id(to));
    return () => this.keys.splice(this.keys.indexOf(k), 1, to);
  }
}

interface TesouroKey {
  readonly bond_type: string;
  readonly maturity_date: string;
  readonly base_date: string;
}

/** Tesouro quotes: inserts, price updates, deletes and moves to another base date (a key change). */
export async function tesouroWorkload(
  client: pg.Client,
  schema: string,
  weight: number,
): Promise<TableWorkload> {
  const q = `${schema}.tesouro_prices`;
  const keys = new KeyMirror<TesouroKey>(
    (k) => `${k.bond_type}|${k.maturity_date}|${k.base_date}`,
    (await client.query<TesouroKey>(`SELECT bond_type, maturity_date::text, base_date::text FROM ${q}`)).rows,
  );
  const bondTypes = ["Tesouro Selic", "Tesouro IPCA+", "Tesouro Prefixado", "Tesouro Educa+"];
  const price = (random: () => number): string =>
    `${int(random, 9000) + 100}.${String(int(random, 100)).padStart(2, "0")}`;
  const where = "WHERE bond_type = $1 AND maturity_date = $2 AND base_date = $3";
  const args = (k: TesouroKey) => [k.bond_type, k.maturity_date, k.base_date];
  return {
    table: "tesouro_prices",
    weight,
    async change(client, random) {
      const roll = random();
      if (roll < 0.45 || keys.size < 10) {
        const k = {
          bond_type: pick(bondTypes, random),
          maturity_date: date(random, 2027),
          base_date: date(random, 2026),
        };
        if (keys.has(k)) return null;
        const nullRate = random() < 0.1;
        await client.query(`INSERT INTO ${q} VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, [
          ...args(k),
          "7.64",
          nullRate ? null : "-0.01",
          price(random),
          price(random),
        ]);
        return keys.insert(k);
      }
      const k = keys.pick(random);
      if (!k) return null;
      if (roll < 0.8) {
        await client.query(`UPDATE ${q} SET buy_price = $4, sell_rate = sell_rate + 0.01 ${where}`, [
          ...args(k),
          price(random),
        ]);
        return () => undefined;
      }
      if (roll < 0.97) {
        await client.query(`DELETE FROM ${q} ${where}`, args(k));
        return keys.delete(k);
      }
      // A primary-key change: the quote is moved to another base date.
      const moved = { ...k, base_date: date(random, 2034) };
      if (keys.has(moved)) return null;
      await client.query(`UPDATE ${q} SET base_date = $4 ${where}`, [...args(k), moved.base_date]);
      return keys.move(k, moved);
    },
  };
}

/** Texts with quotes, backslashes, unicode and JSON-looking content, so encoding round trips are exercised. */
const MEMOS = [
  `O'Brien said "hi"`,
  "ação, coração — preço ≥ 5€",
  "日本語のメモ 🚀",
  "back\\slash \\N tab\there",
  '{"not": "json"}',
  "",
  null,
];

/**
 * A composite-key ledger: numeric(14,4), text, timestamptz, jsonb, int[] and a large `big` text
 * stored out of line (STORAGE EXTERNAL): updates that leave it alone send PostgreSQL's
 * unchanged-TOAST marker, which the envelope carries as Debezium's placeholder.
 */
export const LEDGER_DDL = (schema: string): string[] => [
  `CREATE TABLE ${schema}.ledger (account text, entry_date date, seq int, amount numeric(14,4), memo text,
    booked_at timestamptz, meta jsonb, tags int[], big text, PRIMARY KEY (account, entry_date, seq))`,
  `ALTER TABLE ${schema}.ledger ALTER COLUMN big SET STORAGE EXTERNAL`,
];

interface LedgerKey {
  readonly account: string;
  readonly entry_date: string;
  readonly seq: number;
}

export function ledgerWorkload(schema: string, weight: number): TableWorkload {
  const q = `${schema}.ledger`;
  const keys = new KeyMirror<LedgerKey>((k) => `${k.account}|${k.entry_date}|${k.seq}`);
  const where = "WHERE account = $1 AND entry_date = $2 AND seq = $3";
  const args = (k: LedgerKey) => [k.account, k.entry_date, k.seq];
  const amount = (random: () => number): string =>
    `${random() < 0.2 ? "-" : ""}${int(random, 10_000_000)}.${String(int(random, 10_000)).padStart(4, "0")}`;
  const booked = (random: () => number): string =>
    `${date(random, 2024)} ${String(int(random, 24)).padStart(2, "0")}:${String(int(random, 60)).padStart(2, "0")}:07.${String(int(random, 1_000_000)).padStart(6, "0")}+00`;
  const meta = (random: () => number): string | null =>
    random() < 0.1
      ? null
      : JSON.stringify({ rate: `1.${int(random, 100)}0`, ok: random() < 0.5, n: [1, 2.5] });
  const tags = (random: () => number): number[] | null =>
    random() < 0.1 ? null : Array.from({ length: int(random, 4) }, () => int(random, 100) - 50);
  // 6,000+ characters: always out of line, and too large to be inlined in an update's WAL record.
  const big = (random: () => number): string =>
    `${pick(MEMOS, random) ?? "x"}|${String(int(random, 1e9)).repeat(700)}`;
  return {
    table: "ledger",
    weight,
    async change(client, random) {
      const roll = random();
      if (roll < 0.4 || keys.size < 10) {
        const k = {
          account: pick(["ACC-1", "acc'2", "cônta 3", "ACC-4"], random),
          entry_date: date(random, 2024),
          seq: int(random, 50),
        };
        if (keys.has(k)) return null;
        await client.query(`INSERT INTO ${q} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
          ...args(k),
          amount(random),
          pick(MEMOS, random),
          booked(random),
          meta(random),
          tags(random),
          big(random),
        ]);
        return keys.insert(k);
      }
      const k = keys.pick(random);
      if (!k) return null;
      if (roll < 0.75) {
        // Leaves `big` alone: the event carries the unchanged-TOAST placeholder for it.
        await client.query(
          `UPDATE ${q} SET amount = $4, memo = $5, booked_at = $6, meta = $7, tags = $8 ${where}`,
          [...args(k), amount(random), pick(MEMOS, random), booked(random), meta(random), tags(random)],
        );
        return () => undefined;
      }
      if (roll < 0.82) {
        await client.query(`UPDATE ${q} SET big = $4 ${where}`, [...args(k), big(random)]);
        return () => undefined;
      }
      if (roll < 0.94) {
        await client.query(`DELETE FROM ${q} ${where}`, args(k));
        return keys.delete(k);
      }
      // A primary-key change (another seq), mostly leaving `big` alone: the new key's create then
      // carries the unchanged-TOAST placeholder, filled from the old key (silver: key-moves.ts). Now
      // and then a second change moves the new key again in the same transaction (a → b → c).
      const moved = { ...k, seq: 100 + int(random, 1000) };
      if (keys.has(moved)) return null;
      const to = async (from: LedgerKey, next: LedgerKey) => {
        if (random() < 0.75)
          await client.query(`UPDATE ${q} SET seq = $4 ${where}`, [...args(from), next.seq]);
        else
          await client.query(`UPDATE ${q} SET seq = $4, big = $5 ${where}`, [
            ...args(from),
            next.seq,
            big(random),
          ]);
        return keys.move(from, next);
      };
      const first = await to(k, moved);
      const again = { ...moved, seq: 100 + int(random, 1000) };
      if (random() >= 0.3 || keys.has(again)) return first;
      const second = await to(moved, again);
      return () => {
        first();
        second();
      };
    },
  };
}

/** A keyless tally (REPLICA IDENTITY FULL): few distinct values, so equal rows are common. */
export const TALLY_DDL = (schema: string): string[] => [
  `CREATE TABLE ${schema}.tally (note text, qty int, at timestamptz)`,
  `ALTER TABLE ${schema}.tally REPLICA IDENTITY FULL`,
];

export function tallyWorkload(schema: string, weight: number): TableWorkload {
  const q = `${schema}.tally`;
  const notes = ["a", "b", `it's "c"`, "ç"];
  const qty = (random: () => number): number | null => (random() < 0.15 ? null : int(random, 3));
  const at = (random: () => number): string =>
    pick(["2024-08-15 06:00:00.5+00", "2024-08-15 06:00:00+00"], random);
  // One row of the equal ones (by ctid), or none when no row matches.
  const one = `ctid = (SELECT ctid FROM ${q} WHERE note = $1 AND qty IS NOT DISTINCT FROM $2 LIMIT 1)`;
  return {
    table: "tally",
    weight,
    async change(client, random) {
      const roll = random();
      if (roll < 0.45)
        await client.query(`INSERT INTO ${q} VALUES ($1, $2, $3)`, [
          pick(notes, random),
          qty(random),
          at(random),
        ]);
      else if (roll < 0.65)
        await client.query(`UPDATE ${q} SET qty = $3 WHERE ${one}`, [
          pick(notes, random),
          qty(random),
          qty(random),
        ]);
      else if (roll < 0.75)
        // Every equal row at once: several updates in one statement.
        await client.query(`UPDATE ${q} SET at = $2 WHERE note = $1`, [pick(notes, random), at(random)]);
      else await client.query(`DELETE FROM ${q} WHERE ${one}`, [pick(notes, random), qty(random)]);
      return () => undefined;
    },
  };
}
