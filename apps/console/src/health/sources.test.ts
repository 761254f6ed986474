import { afterAll, describe, expect, test } from "bun:test";
import { freePort, startSourceStandIn } from "../testing/source-stand-in.ts";
import { parsePrometheus, probeSource } from "./sources.ts";

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

  test("a source answering 503 is down, naming the status", async () => {
    standIn.setHealthy(false);
    try {
      const s = await probeSource("ingest", standIn.port);
      expect([s.up, s.error]).toEqual([false, "/health answered HTTP 503"]);
    } finally {
      standIn.setHealthy(true);
    }
  });

  test("a source that does not listen is down with a reason, without throwing", async () => {
    const s = await probeSource("cdc", freePort(), { timeoutMs: 500 });
    expect(s.up).toBe(false);
    expect(s.error).toStartWith("not reachable");
  });
});
