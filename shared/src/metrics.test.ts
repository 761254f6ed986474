import { expect, test } from "bun:test";
import { MetricsRegistry } from "./metrics.ts";
import { checkMetrics } from "./testing/promtool.ts";

function sample(): MetricsRegistry {
  const m = new MetricsRegistry();
  const trades = m.counter("demo_trades_total", "Trades acknowledged, by symbol.", ["symbol"]);
  trades.inc({ symbol: "BTC/USD" }, 3);
  trades.inc({ symbol: 'odd "\\ \n symbol' });
  m.gauge("demo_connected", "1 while connected.").set(1);
  m.gaugeOf("demo_lag", "Lag per partition, read at scrape time.", ["topic", "partition"], () => [
    [{ topic: "t", partition: 0 }, 5],
    [{ topic: "t", partition: 1 }, Number.NaN],
    [{ topic: "u", partition: 0 }, Number.POSITIVE_INFINITY],
  ]);
  m.counterOf("demo_commits_total", "Commits, kept by the app and read at scrape time.", [], () => [
    [{}, 42],
  ]);
  return m;
}

test("the exposition of counters, gauges and scrape-time families passes promtool check metrics", async () => {
  const text = await sample().text();
  expect(checkMetrics(text)).toEqual({ exitCode: 0, problems: [] });
  const lines = text.split("\n");
  expect(lines).toContain('demo_trades_total{symbol="BTC/USD"} 3');
  expect(lines).toContain('demo_trades_total{symbol="odd \\"\\\\ \\n symbol"} 1');
  expect(lines).toContain("demo_connected 1");
  expect(lines).toContain('demo_lag{topic="t",partition="0"} 5');
  expect(lines).toContain('demo_lag{topic="u",partition="0"} +Inf');
  expect(lines).toContain("demo_commits_total 42");
  expect(lines).toContain("# TYPE demo_commits_total counter");
});

test("promtool is a real check: it rejects an unparseable text and lints a counter without help", () => {
  expect(checkMetrics('demo{a="b} 1\n').exitCode).toBe(1);
  const lint = checkMetrics("# TYPE demo_total counter\ndemo_total 1\n");
  expect(lint.exitCode).toBe(3);
  expect(lint.problems).toContain("demo_total no help text");
});

test("scrape-time families show the latest samples only, and value() reads one series or the sum", async () => {
  const m = new MetricsRegistry();
  let partitions: [Record<string, number>, number][] = [
    [{ partition: 0 }, 1],
    [{ partition: 1 }, 2],
  ];
  m.gaugeOf("demo_lag", "Lag.", ["partition"], () => partitions);
  expect(await m.value("demo_lag")).toBe(3);
  partitions = [[{ partition: 1 }, 7]];
  expect(await m.text()).not.toContain('partition="0"');
  expect(await m.value("demo_lag", { partition: 1 })).toBe(7);
  expect(await m.value("demo_absent")).toBe(0);
  const res = await m.response();
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
});
