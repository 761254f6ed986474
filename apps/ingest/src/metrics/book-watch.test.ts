import { describe, expect, test } from "bun:test";
import { BookWatch } from "./book-watch.ts";
import { IngestMetrics } from "./ingest-metrics.ts";

const STALL_MS = 60_000;
const SILENT_MS = 900_000;

function watchAt(silentAfterMs = SILENT_MS) {
  const clock = { now: 1_000_000 };
  const watch = new BookWatch({
    symbols: ["BTC/USD", "ETH/USD"],
    stallAfterMs: STALL_MS,
    silentAfterMs,
    now: () => clock.now,
  });
  return { clock, watch };
}

/** A connection whose subscription brought both snapshots. */
function connected(silentAfterMs = SILENT_MS) {
  const w = watchAt(silentAfterMs);
  w.watch.onOpen();
  w.watch.onMessage("BTC/USD", "snapshot", "ok");
  w.watch.onMessage("ETH/USD", "snapshot", "ok");
  return w;
}

describe("the book check", () => {
  test("a book unverified after a checksum mismatch is red once no snapshot came within the stall limit, green again after one", () => {
    const { clock, watch } = connected();
    expect(watch.check()).toEqual({ ok: true, detail: "verified: BTC/USD, ETH/USD" });
    watch.onMessage("BTC/USD", "update", "mismatch");
    // Updates keep coming (unverified): they are messages, not the snapshot the book needs.
    for (let i = 0; i < 60; i++) {
      clock.now += 1_000;
      watch.onMessage("BTC/USD", "update", "unverified");
      watch.onMessage("ETH/USD", "update", "ok");
    }
    expect(watch.check()).toEqual({
      ok: true,
      detail: "verified: ETH/USD; BTC/USD awaits a snapshot since a checksum mismatch (60 s, limit 60 s)",
    });
    clock.now += 1;
    expect(watch.check()).toEqual({
      ok: false,
      detail:
        "stalled: BTC/USD unverified since a checksum mismatch and no fresh snapshot for 60 s (limit 60 s)",
    });
    watch.onMessage("BTC/USD", "snapshot", "ok");
    expect(watch.check()).toEqual({ ok: true, detail: "verified: BTC/USD, ETH/USD" });
  });

  test("a subscription with no book message for longer than the silence limit while connected is red, naming only that symbol", () => {
    const { clock, watch } = connected();
    for (let t = 0; t < SILENT_MS; t += 10_000) {
      clock.now += 10_000;
      watch.onMessage("ETH/USD", "update", "ok");
    }
    expect(watch.check().ok).toBe(true);
    clock.now += 1;
    const red = watch.check();
    expect(red.ok).toBe(false);
    expect(red.detail).toBe(
      "stalled: BTC/USD subscribed while the WebSocket is up and no book message for 900 s (limit 900 s)",
    );
    expect(red.detail).not.toContain("ETH/USD");
    watch.onMessage("BTC/USD", "update", "ok");
    expect(watch.check().ok).toBe(true);
  });

  test("a subscription that never brings its snapshot is red after the stall limit", () => {
    const { clock, watch } = watchAt();
    watch.onOpen();
    watch.onMessage("ETH/USD", "snapshot", "ok");
    clock.now += STALL_MS + 1;
    expect(watch.check()).toEqual({
      ok: false,
      detail: "stalled: BTC/USD unverified since subscribing and no fresh snapshot for 60 s (limit 60 s)",
    });
  });

  test("while the WebSocket is down the websocket check speaks; a new connection restarts the clocks from its opening", () => {
    const { clock, watch } = connected();
    watch.onMessage("BTC/USD", "update", "mismatch");
    watch.onClose();
    clock.now += SILENT_MS * 2;
    expect(watch.check()).toEqual({ ok: true, detail: "no WebSocket connection (see the websocket check)" });
    watch.onOpen();
    clock.now += STALL_MS;
    // Both books wait for the new subscription's snapshot, counted from the opening, not from the drop.
    expect(watch.check().ok).toBe(true);
    watch.onMessage("BTC/USD", "snapshot", "ok");
    clock.now += 1;
    expect(watch.check()).toEqual({
      ok: false,
      detail: "stalled: ETH/USD unverified since subscribing and no fresh snapshot for 60 s (limit 60 s)",
    });
  });

  test("an unreadable frame that dropped a book starts the same clock, with its reason", () => {
    const { clock, watch } = connected();
    watch.onInvalidated("ETH/USD", "an unreadable book frame");
    clock.now += STALL_MS + 1_000;
    expect(watch.check().detail).toBe(
      "stalled: ETH/USD unverified since an unreadable book frame and no fresh snapshot for 61 s (limit 60 s)",
    );
  });

  test("a silence limit of 0 leaves quiet books alone (the snapshot clock still runs)", () => {
    const { clock, watch } = connected(0);
    clock.now += 86_400_000;
    expect(watch.check().ok).toBe(true);
  });
});

describe("/health of the ingester", () => {
  test("has a book check only when the book is subscribed, and turns 503 with it", () => {
    expect(new IngestMetrics("stream").health().checks.book).toBeUndefined();
    const clock = { now: 0 };
    const m = new IngestMetrics("stream", STALL_MS, {
      symbols: ["BTC/USD"],
      silentAfterMs: SILENT_MS,
      now: () => clock.now,
    });
    m.wsConnected = true;
    m.wsDisconnectedSinceMs = undefined;
    m.book?.onOpen();
    expect(m.health().checks.book?.ok).toBe(true);
    clock.now = STALL_MS + 1;
    const report = m.health();
    expect(report.ok).toBe(false);
    expect(report.checks.book?.detail).toMatch(/^stalled: BTC\/USD unverified since subscribing/);
  });
});
