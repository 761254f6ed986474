/**
 * `bun run demo [--duration 2m] [--json] [--live] [--keep-console]`
 *
 * A bounded end-to-end run from a fresh clone: brings the stack up, starts the Kraken simulator
 * (or uses live Kraken with --live), replays Kraken's recorded trade history, loads the Tesouro
 * sample into PostgreSQL, runs ingest, CDC, the lake writer and the layer jobs for --duration,
 * runs the notebooks, starts the console, and prints a summary (with --json: one JSON object on
 * the last line of stdout). Exits 0 only if every layer received data.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Config, loadConfigOrExit } from "@tributary/shared/config";
import { TOPICS } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { stackUp } from "@tributary/stack/stack";
import { AppProcess, type ChildSpec, freePort, parseDuration, portFree, runToEnd } from "./children.ts";
import { countFiles, type LakeSummary, summarizeLake } from "./summary.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: "string", default: "2m" },
    json: { type: "boolean", default: false },
    live: { type: "boolean", default: false },
    "keep-console": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: bun run demo [--duration 2m] [--json] [--live] [--keep-console]");
  process.exit(0);
}
let durationMs: number;
try {
  durationMs = parseDuration(values.duration as string);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

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

async function main(): Promise<number> {
  say(`stack: starting ${config.stack.services.join(", ") || "(external services)"}`);
  const statuses = await stackUp({ say: (l) => say(`stack: ${l}`) });
  const down = statuses.filter((s) => s.state !== "up");
  if (down.length > 0) throw new Error(`stack not healthy: ${down.map((s) => s.name).join(", ")}`);
  const withPostgres = config.stack.services.includes("postgres") || process.env.PG_URL !== undefined;

  const env: Record<string, string> = {};
  if (!values.live) {
    // Recorded history first: Kraken's real trades of 2025-11-10/11 (closed hours, so CSV files exist).
    const fxPort = await freePort();
    const fx = child({
      name: "simulator-fixtures",
      args: ["apps/ingest/src/simulator/cli.ts", "--port", String(fxPort), "--mode", "fixtures"],
    });
    await Bun.sleep(1500);
    say("ingest: replaying 1,000 recorded Kraken trades (BTC/USDT, 2025-11-10) from the fixtures");
    await step(
      "recorded history replay",
      {
        name: "ingest-history",
        args: [
          "apps/ingest/src/cli.ts",
          "--once",
          "--since",
          "0",
          "--symbols",
          "BTC/USDT",
          "--metrics-port",
          "off",
        ],
        env: {
          KRAKEN_REST_URL: `http://127.0.0.1:${fxPort}/0`,
          KRAKEN_WS_URL: `ws://127.0.0.1:${fxPort}/v2`,
        },
      },
      60_000,
    );
    await fx.stop(5_000);

    const simPort = await freePort();
    child({
      name: "simulator",
      args: [
        "apps/ingest/src/simulator/cli.ts",
        "--port",
        String(simPort),
        "--rate",
        "40",
        "--drop-every-ms",
        "25000",
      ],
    });
    env.KRAKEN_REST_URL = `http://127.0.0.1:${simPort}/0`;
    env.KRAKEN_WS_URL = `ws://127.0.0.1:${simPort}/v2`;
    env.KRAKEN_SYMBOLS = "BTC/USD,ETH/USD,SOL/USD";
    say(
      `simulator: synthetic market on 127.0.0.1:${simPort} (BTC/USD, ETH/USD, SOL/USD; a WebSocket drop every 25 s)`,
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
  const ingest = child({ name: "ingest", args: ["apps/ingest/src/cli.ts", "--since", "now"], env });
  const lake = child({ name: "lake", args: ["apps/lake/src/cli.ts"], env });
  say(
    `running ingest${withPostgres ? ", CDC" : ""} and the lake for ${Math.round(durationMs / 1000)} s (logs in ${logDir})`,
  );

  const cdcTopics = config.cdc.tables.map((t) => `${config.cdc.topicPrefix}.${t}`);
  const topics = [TOPICS.trades, TOPICS.ticker, ...cdcTopics];
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
  const jobs = ["silver.trades", "silver.ticker", "gold.market", "export.csv"];
  if (withPostgres)
    jobs.push(...config.cdc.tables.map((t) => `silver.cdc_${t.replace(".", "_")}`), "gold.tesouro");
  for (const job of jobs) {
    await step(
      `job ${job}`,
      { name: `job-${job}`, args: ["apps/lake/src/jobs-cli.ts", "run", job] },
      300_000,
    );
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

  const port = (await portFree(config.console.port)) ? config.console.port : await freePort();
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
  const ok = everyLayer && csvFiles.length > 0 && nb.code === 0 && consoleUp;

  printSummary(layers, csvFiles, notebooks, consoleUrl, ok);
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
