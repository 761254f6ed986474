import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CursorFileError, cursorDir, cursorFileName, TradeCursorStore } from "./cursor-store.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cursor-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cursor = {
  symbol: "BTC/USD",
  lastTradeId: 70635300,
  since: "1762820035982277754",
  updatedAt: "2026-01-01T00:00:00.000000Z",
};

test("a saved cursor loads back with Kraken's 19-digit last string intact, one file per symbol", async () => {
  const store = new TradeCursorStore(cursorDir(dir));
  expect(store.load("BTC/USD")).toBeUndefined();
  store.save(cursor);
  expect(store.load("BTC/USD")).toEqual(cursor);
  await store.saveAsync({ ...cursor, symbol: "ETH/USD", lastTradeId: 5 });
  expect(store.load("ETH/USD")?.lastTradeId).toBe(5);
  expect(readdirSync(cursorDir(dir)).sort()).toEqual(["BTC_USD.json", "ETH_USD.json"]);
  expect(store.loadAll()).toHaveLength(2);
});

test("saving replaces the file atomically: no temp file is left behind", () => {
  const store = new TradeCursorStore(dir);
  store.save(cursor);
  store.save({ ...cursor, lastTradeId: 70635301 });
  expect(readdirSync(dir)).toEqual([cursorFileName("BTC/USD")]);
  expect(store.load("BTC/USD")?.lastTradeId).toBe(70635301);
});

test("a corrupt cursor file is a clear error naming the file, not a silent restart from scratch", () => {
  const store = new TradeCursorStore(dir);
  writeFileSync(join(dir, "BTC_USD.json"), "{not json");
  expect(() => store.load("BTC/USD")).toThrow(CursorFileError);
  writeFileSync(join(dir, "BTC_USD.json"), JSON.stringify({ ...cursor, since: 1.7e18 }));
  expect(() => store.load("BTC/USD")).toThrow(/does not hold a cursor/);
  expect(existsSync(join(dir, "BTC_USD.json"))).toBe(true);
});

test("a cursor written before `since` (holding the trade's own time as sinceNs) resumes just below that time", () => {
  const store = new TradeCursorStore(dir);
  const { since: _, ...rest } = cursor;
  writeFileSync(join(dir, "BTC_USD.json"), JSON.stringify({ ...rest, sinceNs: "1762820035982277754" }));
  expect(store.load("BTC/USD")?.since).toBe("1762820035982277753");
});
