/**
 * The trade cursor: per symbol, the last trade_id Kafka acknowledged and the REST `since` that resumes
 * after it: a ns value just below its earliest possible instant (Kraken's `last` − 1 when that trade
 * ended a REST page), so fills sharing its instant come again (19 digits do not fit a JS number, so a
 * string). One small JSON file per symbol under `<stateDir>/ingest/cursors/`, replaced atomically
 * (temp file, fsync, rename).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";

export interface TradeCursor {
  readonly symbol: string;
  readonly lastTradeId: number;
  /** The `since` (ns, decimal string) for the next REST Trades page: just below the trade's instant. */
  readonly since: string;
  readonly updatedAt: string;
}

export class CursorFileError extends Error {
  override readonly name = "CursorFileError";
}

export function cursorDir(stateDir: string): string {
  return join(stateDir, "ingest", "cursors");
}

/** `BTC/USD` → `BTC_USD.json`. */
export function cursorFileName(symbol: string): string {
  return `${symbol.replace(/[^A-Za-z0-9]+/g, "_")}.json`;
}

export class TradeCursorStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  get directory(): string {
    return this.dir;
  }

  load(symbol: string): TradeCursor | undefined {
    const file = join(this.dir, cursorFileName(symbol));
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new CursorFileError(`cursor file ${file} is not JSON; fix or delete it`);
    }
    const c = v as Partial<TradeCursor> & { sinceNs?: unknown };
    // Files written before the cursor held Kraken's `last` carry `sinceNs`, the trade's own time.
    const since =
      typeof c.since === "string"
        ? c.since
        : typeof c.sinceNs === "string" && /^\d+$/.test(c.sinceNs)
          ? (BigInt(c.sinceNs) > 0n ? BigInt(c.sinceNs) - 1n : 0n).toString()
          : undefined;
    if (
      c.symbol !== symbol ||
      !Number.isSafeInteger(c.lastTradeId) ||
      since === undefined ||
      !/^\d+$/.test(since)
    ) {
      throw new CursorFileError(
        `cursor file ${file} does not hold a cursor for ${symbol}: ${text.slice(0, 200)}`,
      );
    }
    return { symbol, lastTradeId: c.lastTradeId as number, since, updatedAt: String(c.updatedAt ?? "") };
  }

  loadAll(): TradeCursor[] {
    const out: TradeCursor[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json")) continue;
      const text = readFileSync(join(this.dir, name), "utf8");
      const symbol = (JSON.parse(text) as { symbol?: string }).symbol;
      if (typeof symbol === "string") {
        const c = this.load(symbol);
        if (c) out.push(c);
      }
    }
    return out;
  }

  /** Like `save`, off the event loop (fsync can take tens of ms while Kafka writes to the same disk). */
  async saveAsync(cursor: TradeCursor): Promise<void> {
    const file = join(this.dir, cursorFileName(cursor.symbol));
    const tmp = `${file}.${process.pid}.tmp`;
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(`${JSON.stringify(cursor)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }

  /** Atomically replaces the symbol's cursor. Call only after Kafka acknowledged the trade. */
  save(cursor: TradeCursor): void {
    writeFileAtomic(join(this.dir, cursorFileName(cursor.symbol)), `${JSON.stringify(cursor)}\n`);
  }
}

/** Replaces `file` with `text` so that a crash leaves the old or the new content: temp file, fsync, rename. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
