/**
 * `bun run simulator`: the offline Kraken (REST `/0/public/*`, WS v2 `/v2`) on 127.0.0.1:SIMULATOR_PORT.
 * Point the ingester at it with `--rest-url http://127.0.0.1:8787/0 --ws-url ws://127.0.0.1:8787/v2`.
 */
import { commandLineOrExit, parseCommandLine, usageLine } from "@tributary/shared/cli";
import { loadConfigOrExit } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { parseRfc3339Micros } from "@tributary/shared/time";
import { type FaultPlan, REST_FAILURE_KINDS, type RestFailureKind } from "./faults.ts";
import { DEFAULT_FIXTURES_DIR, missingFixtures } from "./fixtures.ts";
import { KrakenSimulator } from "./server.ts";

const USAGE = `usage: bun run simulator [flags]

  --port <n>                  listen port (default SIMULATOR_PORT, 8787; 0 = any free port)
  --mode synthetic|fixtures   seeded synthetic market (default) or recorded fixtures replayed byte-exact
  --seed <n>                  market seed (default 42)
  --trade-ids-from-clock      start trade_ids from the wall clock (ms since 2024) so a restarted
                              simulator continues Kraken's ever-increasing per-pair sequence
  --rate <trades/s>           mean trades per second of market time over all symbols (default 20)
  --start=<time>              market time at the opening: RFC 3339 (2022-04-11T14:00:00Z) or an age
                              such as --start=-48h or --start=-90m (default: the wall clock at opening)
  --speed <x>                 market seconds per wall second (default 1); a market that starts in the
                              past runs at this speed until it reaches the wall clock, then follows it
  --giant-sweep-rate <p>      probability an order is a sweep of 1,001-1,600 fills at one instant
                              (more than a REST Trades page holds; default 0.00002)
  --book-rate <events/s>      maker actions on the books per second of market time (default: --rate);
                              the books open on the first book subscription
  --total <n>                 stop the market after n trades
  --fixtures <dir>            fixture directory (default ../shared/fixtures/kraken)
  --heartbeat-ms <ms>         idle time before a heartbeat (default 1000)
  --paused                    do not open the market until POST /_sim/market/start
faults:
  --drop-every-ms <ms>        drop every WebSocket abruptly every ms
  --drop-every-trades <n>     drop every WebSocket after every n trades
  --stall-every-ms <ms> --stall-ms <ms>   go silent (no data, no heartbeat) periodically
  --rest-failure-rate <p>     probability a REST call fails (0..1)
  --rest-failures <list>      kinds: ${REST_FAILURE_KINDS.join(",")}
  --malformed-ws-rate <p>     probability a malformed frame follows a trade frame
  --malformed-rest-rate <p>   probability a Trades answer is a malformed 200 body
  --malformed-limit <n>       stop injecting malformed input after n items
  --ohlc-mismatch-rate <p>    share of committed OHLC candles served with one field changed
  --book-corrupt-every <n>    every nth book update is sent with one level's qty off by one lot
  --book-ignore-resubscribe   book unsubscribes and repeated subscribes go unanswered (no new snapshot)
  --book-silent               no book updates are sent (trades, heartbeats and snapshots go on)
control (HTTP): GET /_sim/stats, GET /_sim/truth[?symbol=BTC/USD] (NDJSON), POST /_sim/faults (JSON plan),
                POST /_sim/drop, POST /_sim/stall?ms=, POST /_sim/market/start|pause,
                POST /_sim/book/corrupt (the next book update)`;

const { values } = commandLineOrExit("simulator", USAGE, Bun.argv.slice(2), (argv) =>
  parseCommandLine(argv, {
    port: { type: "string" },
    mode: { type: "string" },
    seed: { type: "string" },
    rate: { type: "string" },
    total: { type: "string" },
    fixtures: { type: "string" },
    "heartbeat-ms": { type: "string" },
    paused: { type: "boolean" },
    "trade-ids-from-clock": { type: "boolean" },
    "drop-every-ms": { type: "string" },
    "drop-every-trades": { type: "string" },
    "stall-every-ms": { type: "string" },
    "stall-ms": { type: "string" },
    "rest-failure-rate": { type: "string" },
    "rest-failures": { type: "string" },
    "malformed-ws-rate": { type: "string" },
    "malformed-rest-rate": { type: "string" },
    "malformed-limit": { type: "string" },
    "ohlc-mismatch-rate": { type: "string" },
    start: { type: "string" },
    speed: { type: "string" },
    "giant-sweep-rate": { type: "string" },
    "book-rate": { type: "string" },
    "book-corrupt-every": { type: "string" },
    "book-ignore-resubscribe": { type: "boolean" },
    "book-silent": { type: "boolean" },
  }),
) as { values: Record<string, string | boolean | undefined> };
const config = loadConfigOrExit();
const log = createLogger("simulator", config.logLevel);

function fail(message: string): never {
  console.error(usageLine("simulator", message));
  process.exit(2);
}

function num(key: string, min: number, max: number): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    fail(`--${key}: expected a number from ${min} to ${max}, got ${String(v)}`);
  }
  return n;
}

const mode = (values.mode as string | undefined) ?? "synthetic";
if (mode !== "synthetic" && mode !== "fixtures") fail(`--mode: expected synthetic or fixtures, got ${mode}`);
const kinds = (values["rest-failures"] as string | undefined)?.split(",").filter(Boolean);
const unknownKinds = kinds?.filter((k) => !(REST_FAILURE_KINDS as readonly string[]).includes(k)) ?? [];
if (unknownKinds.length) fail(`--rest-failures: unknown kinds ${unknownKinds.join(",")}`);

const faults: Partial<Record<keyof FaultPlan, unknown>> = {};
const set = (k: keyof FaultPlan, v: unknown) => {
  if (v !== undefined) faults[k] = v;
};
set("wsDropEveryMs", num("drop-every-ms", 0, 86_400_000));
set("wsDropEveryTrades", num("drop-every-trades", 0, 1e12));
set("wsStallEveryMs", num("stall-every-ms", 0, 86_400_000));
set("wsStallMs", num("stall-ms", 0, 86_400_000));
set("restFailureRate", num("rest-failure-rate", 0, 1));
set("restFailureKinds", kinds as RestFailureKind[] | undefined);
set("malformedWsRate", num("malformed-ws-rate", 0, 1));
set("malformedRestRate", num("malformed-rest-rate", 0, 1));
set("malformedLimit", num("malformed-limit", 0, 1e12));
set("ohlcMismatchRate", num("ohlc-mismatch-rate", 0, 1));
set("bookCorruptEvery", num("book-corrupt-every", 0, 1e12));
set("bookIgnoreResubscribe", values["book-ignore-resubscribe"]);
set("bookSilent", values["book-silent"]);

/** `--start`: RFC 3339, or an age before now such as `-48h`, `-90m`, `-30s`. */
function startNs(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const age = /^-(\d+(?:\.\d+)?)(h|m|s)$/.exec(text);
  if (age) {
    const unitMs = { h: 3_600_000, m: 60_000, s: 1_000 }[age[2] as "h" | "m" | "s"];
    return BigInt(Math.round(Date.now() - Number(age[1]) * unitMs)) * 1_000_000n;
  }
  try {
    return parseRfc3339Micros(text) * 1000n;
  } catch {
    return fail(`--start: expected RFC 3339 (2022-04-11T14:00:00Z) or an age such as -48h, got ${text}`);
  }
}

const fixturesDir = (values.fixtures as string | undefined) ?? DEFAULT_FIXTURES_DIR;
const unreadable = missingFixtures(fixturesDir);
if (unreadable) {
  console.error(`simulator: --fixtures ${fixturesDir}: ${unreadable}`);
  process.exit(2);
}

const total = num("total", 1, 1e12);
const start = startNs(values.start as string | undefined);
const speed = num("speed", 0.001, 1e9);
const giant = num("giant-sweep-rate", 0, 1);
const heartbeatMs = num("heartbeat-ms", 10, 60_000);
const bookRate = num("book-rate", 0, 1_000_000);
const sim = await KrakenSimulator.start({
  port: num("port", 0, 65535) ?? config.ports.simulator,
  mode,
  seed: num("seed", 0, 2 ** 32 - 1) ?? 42,
  ...(values["trade-ids-from-clock"] === true ? { tradeIdOffset: Date.now() - Date.UTC(2024, 0, 1) } : {}),
  tradesPerSecond: num("rate", 0.001, 1_000_000) ?? 20,
  ...(total === undefined ? {} : { totalTrades: total }),
  ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
  fixturesDir,
  ...(start === undefined ? {} : { startNs: start }),
  ...(speed === undefined ? {} : { speed }),
  ...(giant === undefined ? {} : { sweeps: { giantProbability: giant } }),
  ...(bookRate === undefined ? {} : { bookEventsPerSecond: bookRate }),
  faults: faults as Partial<FaultPlan>,
  autoStart: values.paused !== true,
});
log.info("Kraken simulator listening", {
  mode,
  rest: sim.restUrl,
  ws: sim.wsUrl,
  symbols: sim.symbols(),
  marketStart: new Date(Number((sim.clock.start ?? sim.clock.nowNs()) / 1_000_000n)).toISOString(),
  speed: speed ?? 1,
  truth: `${sim.baseUrl}/_sim/truth`,
});
const stop = async (signal: string) => {
  log.info("simulator stopping", { signal, stats: sim.snapshotStats() });
  await sim.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
