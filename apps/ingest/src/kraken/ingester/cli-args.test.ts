import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { parseIngestArgs, UsageError } from "./cli-args.ts";

const config = loadConfig({ TRIBUTARY_STATE_DIR: "/tmp/none", KRAKEN_SYMBOLS: "BTC/USD" }, "/tmp");

test("defaults come from the configuration: live Kraken, stream mode, configured symbols", () => {
  const o = parseIngestArgs([], config);
  if (o === "help") throw new Error("help");
  expect(o).toMatchObject({
    mode: "stream",
    restUrl: "https://api.kraken.com/0",
    wsUrl: "wss://ws.kraken.com/v2",
    symbols: ["BTC/USD"],
    once: false,
    since: "now",
    metricsPort: 9464,
  });
});

test("flags override the configuration", () => {
  const o = parseIngestArgs(
    [
      "--symbols",
      "ETH/USD,DOGE/USD",
      "--mode",
      "poll",
      "--once",
      "--since",
      "0",
      "--rest-url",
      "http://127.0.0.1:8787/0",
      "--ws-url",
      "ws://127.0.0.1:8787/v2",
      "--metrics-port",
      "off",
      "--duration",
      "2.5",
      "--trades-topic",
      "t1",
    ],
    config,
  );
  if (o === "help") throw new Error("help");
  expect(o).toMatchObject({
    mode: "poll",
    once: true,
    since: "0",
    symbols: ["ETH/USD", "DOGE/USD"],
    restUrl: "http://127.0.0.1:8787/0",
    metricsPort: undefined,
    durationMs: 2500,
    topics: { trades: "t1", ticker: "kraken.ticker" },
  });
});

test("bad flags are usage errors naming the flag", () => {
  expect(() => parseIngestArgs(["--symbols", "XBTUSD"], config)).toThrow(/--symbols/);
  expect(() => parseIngestArgs(["--mode", "batch"], config)).toThrow(/--mode/);
  expect(() => parseIngestArgs(["--since", "1.5"], config)).toThrow(/--since/);
  expect(() => parseIngestArgs(["--ws-url", "http://x"], config)).toThrow(/--ws-url/);
  expect(() => parseIngestArgs(["--bogus"], config)).toThrow(UsageError);
  expect(parseIngestArgs(["--help"], config)).toBe("help");
});
