/**
 * The ingester's /health watches the book, end to end: with the Kraken simulator trading and the real
 * ingester subscribed to two books, a checksum mismatch whose resubscription Kraken never answers, and a
 * book subscription that falls silent while trades and heartbeats go on, each turn /health 503 within
 * its limit (plus a stated allowance), naming `book` and the symbols; once the simulator behaves again
 * /health is 200. The other checks stay green throughout: only the book is wrong.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import type { BookMessage } from "@tributary/shared/contracts/book";
import { createLogger } from "@tributary/shared/log";
import { freePort } from "@tributary/shared/net/ports";
import { type HealthAnswer, healthBecomes, pollHealth } from "@tributary/shared/testing/health";
import { uniqueName } from "@tributary/shared/testing/names";
import { KrakenSimulator } from "../../simulator/server.ts";
import { type IngesterHandle, startIngester } from "./ingester.ts";
import { simulatorOptions } from "./testing.ts";

const STALL_MS = 3_000;
const SILENT_MS = 3_000;
/** Past the limit: /health is polled every POLL_MS, and one answer may queue behind the event loop. */
const ALLOWANCE_MS = 1_500;
const POLL_MS = 100;
const SYMBOLS = ["BTC/USD", "ETH/USD"];
const config = loadConfig();
let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), "tributary-book-health-"));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

interface Run {
  readonly sim: KrakenSimulator;
  readonly ingester: IngesterHandle;
  readonly url: string;
  /** Book messages and trades Kafka acknowledged, with when (epoch ms). */
  readonly books: { readonly message: BookMessage; readonly atMs: number }[];
  readonly trades: { count: number };
}

/** The simulator and the ingester on two books, /health served; resolves once both books verify. */
async function start(name: string, seed: number): Promise<Run> {
  const sim = await KrakenSimulator.start({ seed, tradesPerSecond: 60, bookEventsPerSecond: 600 });
  const books: Run["books"] = [];
  const trades = { count: 0 };
  const port = freePort();
  const topics = {
    trades: uniqueName(`${name}_trades`),
    ticker: uniqueName(`${name}_ticker`),
    book: uniqueName(`${name}_book`),
  };
  const ingester = await startIngester(
    // Each run its own cursors: another simulator's trade_ids would read as duplicates.
    simulatorOptions(sim, config, topics, mkdtempSync(join(stateDir, `${name}-`)), {
      symbols: SYMBOLS,
      since: "now",
      metricsPort: port,
      stallAfterMs: STALL_MS,
      book: { depth: 10, silentAfterMs: SILENT_MS },
    }),
    {
      log: createLogger(name, "error"),
      onBooksAcked: (acked, atMs) => {
        for (const message of acked) books.push({ message, atMs });
      },
      onTradesAcked: (acked) => {
        trades.count += acked.length;
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const up = await pollHealth(
    url,
    (a) => a.status === 200 && bookDetail(a) === "verified: BTC/USD, ETH/USD",
    20_000,
  );
  expect(up.last?.body.checks.book).toEqual({ ok: true, detail: "verified: BTC/USD, ETH/USD" });
  return { sim, ingester, url, books, trades };
}

async function stop(run: Run | undefined): Promise<void> {
  await run?.ingester.stop();
  await run?.sim.stop();
}

function bookDetail(a: HealthAnswer): string | undefined {
  return a.body.checks.book?.detail;
}

function failing(a: HealthAnswer): string[] {
  return Object.entries(a.body.checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("a checksum mismatch whose resubscription Kraken never answers: /health 503 naming the book and its symbol within the stall limit, 200 once a snapshot comes", async () => {
  let run: Run | undefined;
  try {
    run = await start("bookhealth_unverified", 21);
    const { sim, ingester, url } = run;
    sim.setFaults({ bookIgnoreResubscribe: true });
    const faultAt = Date.now();
    sim.corruptNextBookUpdate();
    const mismatches = (symbol: string) =>
      ingester.metrics.registry.value("tributary_ingest_book_checksum_mismatches_total", { symbol });
    let bad: string | undefined;
    await until(
      "the mismatch",
      async () => {
        for (const s of SYMBOLS) if ((await mismatches(s)) > 0) bad = s;
        return bad !== undefined;
      },
      5_000,
    );
    const down = await healthBecomes(url, 503, STALL_MS + 10_000, POLL_MS);
    console.log(
      `mismatch on ${bad}, resubscriptions unanswered: /health ${down.status} after ${down.atMs - faultAt} ms (limit ${STALL_MS} ms + ${ALLOWANCE_MS} ms allowance): ${JSON.stringify(down.body.checks)}`,
    );
    expect(down.status).toBe(503);
    expect(failing(down)).toEqual(["book"]);
    expect(bookDetail(down)).toMatch(
      /^stalled: (BTC|ETH)\/USD unverified since a checksum mismatch and no fresh snapshot for \d+ s \(limit 3 s\)$/,
    );
    expect(bookDetail(down)).toStartWith(`stalled: ${bad} `);
    // Red only once the book waited longer than the limit, and not much later.
    expect(down.atMs - faultAt).toBeGreaterThan(STALL_MS);
    expect(down.atMs - faultAt).toBeLessThanOrEqual(STALL_MS + ALLOWANCE_MS);
    // The book was not silent: its updates kept coming, marked unverified; Kraken just never re-sent a snapshot.
    expect(
      run.books.filter((b) => b.message.symbol === bad && b.message.checksum_status === "unverified").length,
    ).toBeGreaterThan(0);
    expect(sim.snapshotStats().faults.bookRequestsIgnored).toBeGreaterThanOrEqual(2);

    sim.setFaults({ bookIgnoreResubscribe: false });
    const fixedAt = Date.now();
    // The ingester asks again every 10 s; this time Kraken answers with a snapshot.
    const recovered = await healthBecomes(url, 200, 15_000, POLL_MS);
    console.log(
      `resubscriptions answered again: /health ${recovered.status} after ${recovered.atMs - fixedAt} ms: ${JSON.stringify(recovered.body.checks.book)}`,
    );
    expect(recovered.status).toBe(200);
    expect(recovered.body.checks.book).toEqual({ ok: true, detail: "verified: BTC/USD, ETH/USD" });
  } finally {
    await stop(run);
  }
}, 60_000);

test("a book subscription gone silent while trades and heartbeats flow: /health 503 naming the silent books within the silence limit, 200 once updates resume", async () => {
  let run: Run | undefined;
  try {
    run = await start("bookhealth_silent", 22);
    const { sim, url, books } = run;
    sim.setFaults({ bookSilent: true });
    const faultAt = Date.now();
    const tradesAtFault = run.trades.count;
    const down = await healthBecomes(url, 503, SILENT_MS + 10_000, POLL_MS);
    console.log(
      `book updates withheld: /health ${down.status} after ${down.atMs - faultAt} ms (limit ${SILENT_MS} ms + ${ALLOWANCE_MS} ms allowance): ${JSON.stringify(down.body.checks)}`,
    );
    expect(down.status).toBe(503);
    // The connection is alive (the websocket check is green) and trades still arrive: only the book is dead.
    expect(failing(down)).toEqual(["book"]);
    expect(run.trades.count).toBeGreaterThan(tradesAtFault);
    // The first red answer names the books whose silence passed the limit: both, or the one whose last
    // message came a few ms earlier (the other follows within a poll or two).
    const silentPart = (symbol: string) =>
      `stalled: ${symbol} subscribed while the WebSocket is up and no book message for \\d+ s \\(limit 3 s\\)`;
    const named = (a: HealthAnswer) =>
      SYMBOLS.filter((s) => new RegExp(silentPart(s)).test(bookDetail(a) ?? ""));
    expect(bookDetail(down)).toMatch(
      new RegExp(`^(${SYMBOLS.map(silentPart).join("|")})(; (${SYMBOLS.map(silentPart).join("|")}))?$`),
    );
    // Red only after the limit of real silence for every book it names: measured from the last book message
    // the ingester received for that symbol (not from the fault, which a busy event loop can set hundreds of
    // ms after the simulator's last send).
    const lastReceivedMs = (symbol: string) =>
      Math.max(
        ...books
          .filter((b) => b.message.symbol === symbol)
          .map((b) => Date.parse(b.message.received_at))
          .filter((ms) => ms <= down.atMs),
      );
    expect(named(down).length).toBeGreaterThan(0);
    for (const symbol of named(down))
      expect(down.atMs - lastReceivedMs(symbol)).toBeGreaterThanOrEqual(SILENT_MS);
    expect(down.atMs - faultAt).toBeLessThanOrEqual(SILENT_MS + ALLOWANCE_MS);
    const both = await pollHealth(url, (a) => named(a).length === SYMBOLS.length, ALLOWANCE_MS, POLL_MS);
    expect(both.last && named(both.last)).toEqual(SYMBOLS);
    expect(both.atMs - faultAt).toBeLessThanOrEqual(SILENT_MS + ALLOWANCE_MS);
    expect(sim.snapshotStats().faults.bookUpdatesWithheld).toBeGreaterThan(0);

    sim.setFaults({ bookSilent: false });
    const resumedAt = Date.now();
    // The resumed updates miss what was withheld: a mismatch, a resubscription, a snapshot, all quick.
    const recovered = await healthBecomes(url, 200, 10_000, POLL_MS);
    console.log(
      `book updates resumed: /health ${recovered.status} after ${recovered.atMs - resumedAt} ms: ${JSON.stringify(recovered.body.checks.book)}`,
    );
    expect(recovered.status).toBe(200);
    expect(recovered.body.checks.book?.ok).toBe(true);
  } finally {
    await stop(run);
  }
}, 60_000);
