/**
 * (Over 400 lines: one script of steps run in order; each step calls into an app.)
 *
 * `bun run demo [--duration 2m] [--json] [--live] [--keep-console]`
 *
 * A bounded end-to-end run from a fresh clone: brings the stack up, starts the Kraken simulator with
 * 50 hours of market history (or uses live Kraken with --live), loads the Tesouro
 * sample into PostgreSQL, runs ingest, CDC, the lake writer and the layer jobs for --duration,
 * runs the notebooks, starts the console, and prints a summary (with --json: one JSON object on
 * the last line of stdout). Exits 0 only if every layer received data.
 */
import { join } from "node:path";
import { commandLineOrExit, parseCommandLine, UsageError } from "@tributary/shared/cli";
import { type Config, loadConfigOrExit } from "@tributary/shared/config";
import { TOPICS } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { freePort, portFree } from "@tributary/shared/net/ports";
import { stackUp } from "@tributary/stack/stack";
import { AppProcess, type ChildSpec, parseDuration, runToEnd } from "./children.ts";
import { countFiles, type LakeSummary, summarizeLake, summarizeMarket } from "./summary.ts";

/** The simulated market opens this long before the run, so the lake holds two days of every symbol. */
const HISTORY_HOURS = 50;
const MIN_SPAN_HOURS = 48;
/** Trades per second of market time over all symbols (about 50,000 over the history). */
const MARKET_RATE = 0.3;
/**
 * Maker actions on the books per second of market time over all symbols. With the taker orders that
 * also move the books, about 0.25 book updates a market second: some 2,000 a wall second at the 30 s
 * demo's 8,000× clock, as many as trades, which the ingester and the lake take in their stride.
 */
const BOOK_RATE = 0.1;
/** Share of Kraken's candles the simulator falsifies, so the reconciliation has something to flag. */
const OHLC_MISMATCH_RATE = 0.01;

const USAGE = `usage: bun run demo [--duration 2m] [--json] [--live] [--keep-console]
  a bounded end-to-end run on the offline Kraken simulator (--live: the live Kraken API); exit 0
  only if every layer received data. --json prints the summary as one JSON object on the last line.`;
const { values, durationMs } = commandLineOrExit("demo", USAGE, process.argv.slice(2), (argv) => {
  const parsed = parseCommandLine(argv, {
    duration: { type: "string", default: "2m" },
    json: { type: "boolean", default: false },
    live: { type: "boolean", default: false },
    "keep-console": { type: "boolean", default: false },
  });
  try {
    return { values: parsed.values, durationMs: parseDuration(parsed.values.duration) };
  } catch (err) {
    throw new UsageError(`--duration: ${(err as Error).message}`);
  }
});

const config = loadConfigOrExit();
const started = Date.now();
const logDir = join(config.stateDir, "demo", "logs");
const say = (line: string): void => {
  process.stderr.write(`[demo ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
};
const children: AppProcess[] = [];
let interrupted = false;
process.on("SIGINT", () => {
  interrupted = true;
});
process.on("SIGTERM", () => {
  interrupted = true;
});

function child(spec: ChildSpec): AppProcess {
  const p = new AppProcess(spec, logDir).start();
  children.push(p);
  return p;
}

async function step(name: string, spec: ChildSpec, timeoutMs: number): Promise<string> {
  const { code, stdout } = await runToEnd(spec, logDir, timeoutMs);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}); see ${join(logDir, `${spec.name}.log`)}`);
  return stdout;
}

async function sleepUnlessInterrupted(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!interrupted && Date.now() < until) await Bun.sleep(Math.min(250, until - Date.now()));
}

interface Progress {
  readonly produced: Record<string, number>;
  readonly lag: number;
}

async function progress(cfg: Config, topics: readonly string[]): Promise<Progress> {
  const admin = createKafka(cfg.kafka, "demo", { quiet: true }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const produced: Record<string, number> = {};
    let lag = 0;
    const present = topics.filter((t) => existing.has(t));
    const committed = present.length
      ? await admin.fetchOffsets({ groupId: cfg.lake.consumerGroup, topics: present })
      : [];
    for (const topic of present) {
      const ends = await admin.fetchTopicOffsets(topic);
      produced[topic] = ends.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
      const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const p of ends) {
        const c = Number(group.find((g) => g.partition === p.partition)?.offset ?? -1);
        lag += Number(p.high) - (c < 0 ? Number(p.low) : c);
      }
    }
    return { produced, lag };
  } finally {
    await admin.disconnect();
  }
}

async function topicsExist(cfg: Config, topics: readonly string[], timeoutMs: number): Promise<void> {
  const admin = createKafka(cfg.kafka, "demo", { quiet: true }).admin();
  await admin.connect();
  try {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const have = new Set(await admin.listTopics());
      if (topics.every((t) => have.has(t))) return;
      if (Date.now() > until)
        throw new Error(`topics ${topics.join(", ")} were not created within ${timeoutMs} ms`);
      await Bun.sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<number> {
  say(`stack: starting ${config.stack.services.join(", ") || "(external services)"}`);
  const statuses = await stackUp({ say: (l) => say(`stack: ${l}`) });
  const down = statuses.filter((s) => s.state !== "up");
  if (down.length > 0) throw new Error(`stack not healthy: ${down.map((s) => s.name).join(", ")}`);
  const withPostgres = config.stack.services.includes("postgres") || process.env.PG_URL !== undefined;

  const env: Record<string, string> = {};
  // Fresh cursors for this run (trade and OHLC), so an earlier run's cursors never hide this market.
  const runId = `demo${new Date()
    .toISOString()
    .replace(/[^0-9]/g, "")
    .slice(0, 14)}`;
  const runStateDir = join(config.stateDir, "demo", runId);
  // Offline, this run's market goes through topics of its own, so a fresh lake holds this run only
  // (the lake reads a topic from its start; earlier runs' markets would overlap this one's hours).
  const topicOf = (name: string): string => (values.live ? name : `${runId}.${name}`);
  const krakenTopics = {
    trades: topicOf(TOPICS.trades),
    ticker: topicOf(TOPICS.ticker),
    ohlc: topicOf(TOPICS.ohlc),
    // The level-2 book too, unless KRAKEN_BOOK_DEPTH=off.
    ...(config.kraken.bookDepth === undefined ? {} : { book: topicOf(TOPICS.book) }),
  };
  const topicArgs = [
    ...["--trades-topic", krakenTopics.trades, "--ticker-topic", krakenTopics.ticker],
    ...["--ohlc-topic", krakenTopics.ohlc],
    ...(krakenTopics.book === undefined ? [] : ["--book-topic", krakenTopics.book]),
  ];
  if (!values.live) {
    // A market with history: it opens HISTORY_HOURS ago and runs fast enough to reach the wall clock
    // at about three quarters of the run, so every symbol lands two days of market time.
    const speed = Math.max(1, Math.round((HISTORY_HOURS * 3600 * 1000) / (durationMs * 0.75)));
    const simPort = freePort();
    child({
      name: "simulator",
      args: [
        "apps/ingest/src/simulator/cli.ts",
        ...["--port", String(simPort), "--trade-ids-from-clock"],
        ...[`--start=-${HISTORY_HOURS}h`, "--speed", String(speed), "--rate", String(MARKET_RATE)],
        ...["--drop-every-ms", "25000", "--ohlc-mismatch-rate", String(OHLC_MISMATCH_RATE)],
        ...["--book-rate", String(BOOK_RATE)],
      ],
    });
    env.KRAKEN_REST_URL = `http://127.0.0.1:${simPort}/0`;
    env.KRAKEN_WS_URL = `ws://127.0.0.1:${simPort}/v2`;
    env.KRAKEN_SYMBOLS = "BTC/USD,ETH/USD,DOGE/USD";
    say(
      `simulator: synthetic market on 127.0.0.1:${simPort} (BTC/USD, ETH/USD, DOGE/USD) opening ${HISTORY_HOURS} h ago at ${speed}× until it reaches now; books moved by ${BOOK_RATE} maker actions per market second besides the trades; a WebSocket drop every 25 s; ${OHLC_MISMATCH_RATE * 100} % of Kraken's candles falsified to show the reconciliation flag them`,
    );
    await Bun.sleep(1000);
  }

  if (withPostgres) {
    say("cdc: loading the Tesouro Direto sample into PostgreSQL");
    const loaded = await step(
      "Tesouro sample load",
      { name: "tesouro-load", args: ["apps/ingest/src/cdc/cli.ts", "--load-sample"] },
      180_000,
    );
    const last = loaded.trim().split("\n").pop() ?? "";
    say(`cdc: sample loaded ${last}`);
    child({ name: "cdc", args: ["apps/ingest/src/cdc/cli.ts"], env });
  }
  const ingestArgs = ["--since", values.live ? "now" : "0", "--state-dir", runStateDir, ...topicArgs];
  const ingest = child({ name: "ingest", args: ["apps/ingest/src/cli.ts", ...ingestArgs], env });
  // The lake subscribes to the topics that exist when it starts: wait for the ingester to create them.
  const cdcTopics = config.cdc.tables.map((t) => `${config.cdc.topicPrefix}.${t}`);
  await topicsExist(config, [...Object.values(krakenTopics), ...(withPostgres ? cdcTopics : [])], 120_000);
  const routes = [
    `${krakenTopics.trades}=kraken_trades:kraken`,
    `${krakenTopics.ticker}=kraken_ticker:kraken`,
    `${krakenTopics.ohlc}=kraken_ohlc:kraken`,
    ...(krakenTopics.book === undefined ? [] : [`${krakenTopics.book}=kraken_book:kraken`]),
    ...(withPostgres ? cdcTopics.map((t) => `${t}=cdc_${t.split(".").slice(1).join("_")}:cdc`) : []),
  ].join(",");
  const lakeArgs = values.live ? [] : ["--routes", routes];
  const lake = child({ name: "lake", args: ["apps/lake/src/cli.ts", ...lakeArgs], env });
  say(
    `running ingest${withPostgres ? ", CDC" : ""} and the lake for ${Math.round(durationMs / 1000)} s (logs in ${logDir})`,
  );

  const topics = [...Object.values(krakenTopics), ...cdcTopics];
  const until = Date.now() + durationMs;
  while (!interrupted && Date.now() < until) {
    await sleepUnlessInterrupted(Math.min(5_000, until - Date.now()));
    const p = await progress(config, topics).catch(() => undefined);
    if (p)
      say(
        `kafka: ${Object.entries(p.produced)
          .map(([t, n]) => `${t} ${n}`)
          .join(", ")}; lake lag ${p.lag}`,
      );
    for (const c of [ingest, lake])
      if (!c.running) throw new Error(`${c.spec.name} exited early; see ${c.logFile}`);
  }

  say("ingest: Kraken's own 1-minute candles (the scheduled job ingest.kraken_ohlc, once now)");
  const ohlc = await step(
    "OHLC fetch",
    {
      name: "ingest-ohlc",
      args: [
        "apps/ingest/src/cli.ts",
        "--ohlc",
        "--state-dir",
        runStateDir,
        "--ohlc-topic",
        krakenTopics.ohlc,
      ],
      env,
    },
    120_000,
  );
  say(`ingest: candles ${ohlc.trim().split("\n").pop() ?? ""}`);

  say("stopping the sources; the lake writer drains what Kafka holds");
  await Promise.all(
    children.filter((c) => c.spec.name === "ingest" || c.spec.name === "cdc").map((c) => c.stop()),
  );
  const drainUntil = Date.now() + 90_000;
  for (;;) {
    const p = await progress(config, topics).catch(() => undefined);
    if (p && p.lag === 0) break;
    if (Date.now() > drainUntil) {
      say(`lake: still ${p?.lag ?? "?"} records behind after 90 s; stopping anyway`);
      break;
    }
    await Bun.sleep(1000);
  }
  await lake.stop();
  for (const c of children) await c.stop(5_000);

  say("layers: running silver, gold and the CSV export once more so the summary is current");
  const jobs = [
    "silver.trades",
    "silver.ticker",
    "silver.kraken_ohlc",
    ...(krakenTopics.book === undefined ? [] : ["silver.book", "gold.book"]),
    "gold.market",
    "export.csv",
  ];
  if (withPostgres)
    jobs.push(...config.cdc.tables.map((t) => `silver.cdc_${t.replace(".", "_")}`), "gold.tesouro");
  for (const job of jobs) {
    await step(`job ${job}`, { name: `job-${job}`, args: ["apps/jobs/src/cli.ts", "run", job] }, 300_000);
    say(`job ${job}: done`);
  }

  say("notebooks: running every notebook against the lake");
  const nb = await runToEnd(
    {
      name: "notebooks",
      args: ["apps/notebooks/src/cli.ts", "--out", config.console.notebooksDir, "--json"],
    },
    logDir,
    600_000,
  );
  const notebooks = countFiles(config.console.notebooksDir, ".html").filter((f) => !f.endsWith("index.html"));
  if (nb.code !== 0)
    say(`notebooks: a notebook had an error output (exit ${nb.code}); see ${join(logDir, "notebooks.log")}`);

  const port = portFree(config.console.port) ? config.console.port : freePort();
  const consoleProc = child({
    name: "console",
    args: ["apps/console/src/cli.ts"],
    env: { CONSOLE_PORT: String(port) },
  });
  const consoleUrl = `http://127.0.0.1:${port}`;
  const consoleUp = await waitForHttp(`${consoleUrl}/health`, 30_000);
  say(consoleUp ? `console: ${consoleUrl}` : `console: did not answer; see ${consoleProc.logFile}`);

  const lakeSummary = config.lake.uri.startsWith("s3://") ? undefined : await summarizeLake(config.lake.uri);
  const csvFiles = countFiles(config.export.dir, ".csv");
  const layers = lakeSummary ?? ({ bronze: {}, silver: {}, gold: {} } as LakeSummary);
  const everyLayer = (["bronze", "silver", "gold"] as const).every((l) =>
    Object.values(layers[l]).some((d) => d.rows > 0),
  );
  const market = config.lake.uri.startsWith("s3://")
    ? { symbols: {}, reconciliation: {} }
    : await summarizeMarket(config.lake.uri);
  // This run's market: every simulated symbol reached the lake with two days of market time.
  const spans = (env.KRAKEN_SYMBOLS ?? "").split(",").map((symbol) => market.symbols[symbol]);
  const history =
    values.live ||
    (spans.every((s) => s !== undefined && s.hours >= MIN_SPAN_HOURS) &&
      Object.values(market.reconciliation).some((n) => n > 0));
  const ok = everyLayer && history && csvFiles.length > 0 && nb.code === 0 && consoleUp;

  printSummary(layers, market, csvFiles, notebooks, consoleUrl, ok);
  const keep = !values.json && (values["keep-console"] || process.stdout.isTTY) && consoleUp && !interrupted;
  if (keep) {
    say("the console keeps running; Ctrl-C stops it");
    while (!interrupted && consoleProc.running) await Bun.sleep(500);
  }
  await consoleProc.stop(5_000);
  if (values.json) {
    const out = {
      ok,
      duration_s: Math.round((Date.now() - started) / 1000),
      layers: Object.fromEntries(
        Object.entries(layers).map(([layer, ds]) => [
          layer,
          Object.fromEntries(Object.entries(ds).map(([n, d]) => [n, { rows: d.rows, files: d.files }])),
        ]),
      ),
      symbols: market.symbols,
      reconciliation: market.reconciliation,
      csv_files: csvFiles.length,
      notebooks,
      console: consoleUrl,
    };
    console.log(JSON.stringify(out));
  }
  return ok ? 0 : 1;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200 || res.status === 503) return true;
    } catch {
      // not listening yet
    }
    await Bun.sleep(500);
  }
  return false;
}

function printSummary(
  layers: LakeSummary,
  market: Awaited<ReturnType<typeof summarizeMarket>>,
  csv: readonly string[],
  notebooks: readonly string[],
  consoleUrl: string,
  ok: boolean,
): void {
  const w = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  w("");
  w("Tributary demo summary");
  w("──────────────────────");
  for (const layer of ["bronze", "silver", "gold"] as const) {
    w(`${layer}:`);
    const entries = Object.entries(layers[layer]);
    if (entries.length === 0) w("  (nothing)");
    for (const [name, d] of entries) {
      w(
        `  ${name.padEnd(34)} ${String(d.rows).padStart(10)} rows ${String(d.files).padStart(6)} files   newest ${Number.isFinite(d.age_s) ? `${d.age_s} s ago` : "-"}`,
      );
    }
  }
  w("symbols (market time in silver):");
  const symbols = Object.entries(market.symbols);
  if (symbols.length === 0) w("  (none)");
  for (const [symbol, span] of symbols)
    w(
      `  ${symbol.padEnd(10)} ${String(span.trades).padStart(8)} trades  ${span.first} → ${span.last}  (${span.hours} h)`,
    );
  w(
    `reconciliation with Kraken's candles: ${
      Object.entries(market.reconciliation)
        .map(([status, n]) => `${n} ${status}`)
        .join(", ") || "(none)"
    }`,
  );
  w(
    `CSV files: ${csv.length} under ${config.export.dir}${csv[0] ? ` (e.g. ${csv[0].slice(config.export.dir.length + 1)})` : ""}`,
  );
  w(`notebooks: ${notebooks.length ? notebooks.join(", ") : "(none)"}`);
  w(`console:   ${consoleUrl}`);
  w(
    ok
      ? "result:    every layer received data ✔"
      : "result:    something is missing ✖ (see above and the logs)",
  );
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  if (values.json)
    console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
} finally {
  await Promise.allSettled(children.map((c) => c.stop(5_000)));
}
process.exit(code);
