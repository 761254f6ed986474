import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "@tributary/shared/net/ports";
import { startSourceStandIn } from "../testing/source-stand-in.ts";
import { freshnessCell } from "./pages.ts";
import { feedAges, healthReason, parsePrometheus, probeSource } from "./sources.ts";

// The ingester's feed-age gauges, after enough counters that they fall outside the metrics shown.
const FEED_AGES = [
  ...Array.from({ length: 20 }, (_, i) => `tributary_ingest_filler_${i}_total 1`),
  "# TYPE tributary_ingest_last_trade_age_seconds gauge",
  'tributary_ingest_last_trade_age_seconds{symbol="ETH/USD"} 4.2',
  'tributary_ingest_last_trade_age_seconds{symbol="BTC/USD"} 1.5',
  'tributary_ingest_last_book_age_seconds{symbol="BTC/USD"} 0.25',
  'tributary_ingest_last_book_age_seconds{symbol="ETH/USD"} 312',
].join("\n");
const standIn = startSourceStandIn("tributary_ingest");
const ingester = startSourceStandIn("tributary_ingest", `${FEED_AGES}\n`);
afterAll(() => {
  standIn.stop();
  ingester.stop();
});

describe("source probes", () => {
  test("Prometheus text is parsed into samples; comments and junk are skipped", () => {
    const samples = parsePrometheus(
      '# HELP x y\n# TYPE x counter\nx_total 5\ny{topic="kraken.trades",partition="0"} 12 1700000000\nnot a metric line\n',
    );
    expect(samples).toEqual([
      { name: "x_total", labels: "", value: "5" },
      { name: "y", labels: '{topic="kraken.trades",partition="0"}', value: "12" },
    ]);
  });

  test("a healthy source is up with its metrics", async () => {
    const s = await probeSource("ingest", standIn.port);
    expect([s.up, s.httpStatus, s.error]).toEqual([true, 200, null]);
    expect(s.metrics.map((m) => m.name)).toEqual(["tributary_ingest_records_total", "tributary_ingest_up"]);
  });

  test("a source answering 503 is down, naming the status and the app's own reason", async () => {
    standIn.setHealthy(false);
    try {
      const s = await probeSource("ingest", standIn.port);
      expect([s.up, s.error]).toEqual([
        false,
        "/health answered HTTP 503: kafka: stalled: 12 records wait and no Kafka acknowledgement for 61 s (limit 60 s)",
      ]);
    } finally {
      standIn.setHealthy(true);
    }
  });

  test("the reason is read from each app's answer: failing checks, else reason, error or a flush error", () => {
    expect(
      healthReason({
        ok: false,
        checks: { a: { ok: true, detail: "fine" }, b: { ok: false, detail: "stuck" } },
      }),
    ).toBe("b: stuck");
    expect(healthReason({ ok: false, stuck: true, reason: "stalled: 400 bytes of WAL wait" })).toBe(
      "stalled: 400 bytes of WAL wait",
    );
    expect(healthReason({ status: "unhealthy", checks: {}, last_flush_error: "ENOSPC" })).toBe("ENOSPC");
    expect(healthReason({ ok: false })).toBeNull();
    expect(healthReason(null)).toBeNull();
  });

  test("the ingester's book and trade freshness is read from all of /metrics and shown per symbol", async () => {
    const s = await probeSource("ingest", ingester.port);
    expect(s.metrics.some((m) => m.name.includes("age_seconds"))).toBe(false);
    expect(s.freshness).toEqual([
      { feed: "trades", symbol: "BTC/USD", ageS: 1.5 },
      { feed: "book", symbol: "BTC/USD", ageS: 0.25 },
      { feed: "trades", symbol: "ETH/USD", ageS: 4.2 },
      { feed: "book", symbol: "ETH/USD", ageS: 312 },
    ]);
    const cell = String(freshnessCell(s));
    expect(cell).toContain(
      '<div data-freshness="BTC/USD">BTC/USD <span data-feed="trades">trades 2 s</span> · <span data-feed="book">book 0 s</span></div>',
    );
    expect(cell).toContain('<span data-feed="book">book 5 min</span>');
    // A source without the gauges (CDC, the lake writer) shows none.
    expect(feedAges(parsePrometheus("x_total 1\n"))).toEqual([]);
    expect(String(freshnessCell(await probeSource("lake", standIn.port)))).toContain("—");
  });

  test("a source that does not listen is down with a reason, without throwing", async () => {
    const s = await probeSource("cdc", freePort(), { timeoutMs: 500 });
    expect(s.up).toBe(false);
    expect(s.error).toStartWith("not reachable");
  });
});
