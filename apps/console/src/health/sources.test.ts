import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "@tributary/shared/net/ports";
import { startSourceStandIn } from "../testing/source-stand-in.ts";
import { healthReason, parsePrometheus, probeSource } from "./sources.ts";

const standIn = startSourceStandIn("tributary_ingest");
afterAll(() => standIn.stop());

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

  test("a source that does not listen is down with a reason, without throwing", async () => {
    const s = await probeSource("cdc", freePort(), { timeoutMs: 500 });
    expect(s.up).toBe(false);
    expect(s.error).toStartWith("not reachable");
  });
});
