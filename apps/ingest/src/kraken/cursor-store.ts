/**
 * The trade cursor: per symbol, the last trade_id Kafka acknowledged and its ns time (Kraken's `since`
 * form, a string: 19 digits do not fit a JS number). One small JSON file per symbol under
 * `<stateDir>/ingest/cursors/`, replaced atomically (write a temp file, fsync, rename).
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
  /** ns epoch time of that trade (exact from REST, µs×1000 from WS); the next `since` is derived from it. */
  readonly sinceNs: string;
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
    const c = v as Partial<TradeCursor>;
    if (
      c.symbol !== symbol ||
      !Number.isSafeInteger(c.lastTradeId) ||
      typeof c.sinceNs !== "string" ||
      !/^\d+$/.test(c.sinceNs)
    ) {
      throw new CursorFileError(
        `cursor file ${file} does not hold a cursor for ${symbol}: ${text.slice(0, 200)}`,
      );
    }
    return c as TradeCursor;
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
    const file = join(this.dir, cursorFileName(cursor.symbol));
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, `${JSON.stringify(cursor)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }
}
