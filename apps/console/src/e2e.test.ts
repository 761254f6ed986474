/**
 * End to end in a real browser: a lake written with DuckDB, the real Kafka with a topic and the
 * lake's consumer group lagging behind, stand-ins for the pipeline processes' health endpoints, a
 * real scheduler owning a real job, and the console on a free port. Every page must render live
 * data, a re-run clicked in the browser must appear in the history, and a query must return rows.
 * Screenshots: test-artifacts/console/*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createKafka, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import type { JobDefinition } from "@tributary/shared/scheduler/job";
import { Scheduler } from "@tributary/shared/scheduler/scheduler";
import { screenshot as shoot, withChromium } from "@tributary/shared/testing/browser";
import { uniqueName } from "@tributary/shared/testing/names";
import { checkMetrics } from "@tributary/shared/testing/promtool";
import { type Admin, Partitioners } from "kafkajs";
import { type RunningConsole, startConsole } from "./server.ts";

const screenshot = (page: Parameters<typeof shoot>[0], name: string) => shoot(page, "console", name);

import { createLakeFixture, type LakeFixture } from "./testing/lake-fixture.ts";
import { type SourceStandIn, startSourceStandIn } from "./testing/source-stand-in.ts";

const quiet = createLogger("console-e2e", "error", () => {});
let lake: LakeFixture;
let scratch: string;
let config: Config;
let running: RunningConsole;
let scheduler: Scheduler;
let history: RunHistory;
let admin: Admin;
const standIns: SourceStandIn[] = [];
const topic = uniqueName("console_trades");
const group = uniqueName("console_lake");
const expectedLag = new Map<number, bigint>();

/** A real job: counts silver trades in the lake with DuckDB. */
function rowCountJob(lakeRoot: string): JobDefinition {
  return {
    name: "lake.silver-row-count",
    pattern: "0 * * * *",
    description: "Counts the rows of silver.kraken_trades",
    timeoutMs: 30_000,
    async run(ctx) {
      const instance = await DuckDBInstance.create(":memory:");
      const c = await instance.connect();
      try {
        ctx.progress(0, 1, "counting");
        const where = ctx.range
          ? ` WHERE ts >= '${ctx.range.from.toISOString()}'::TIMESTAMPTZ AND ts < '${ctx.range.to.toISOString()}'::TIMESTAMPTZ`
          : "";
        const r = await c.runAndReadAll(
          `SELECT count(*) FROM read_parquet('${lakeRoot}/silver/kraken_trades/**/*.parquet', hive_partitioning = true)${where}`,
        );
        ctx.progress(1, 1);
        return { rows: Number(r.getRows()[0]?.[0] ?? 0) };
      } finally {
        c.closeSync();
        instance.closeSync();
      }
    },
  };
}

beforeAll(async () => {
  lake = await createLakeFixture({ hours: 3 });
  scratch = mkdtempSync(join(tmpdir(), "console-e2e-"));
  const notebooks = join(scratch, "notebooks");
  mkdirSync(notebooks, { recursive: true });
  writeFileSync(
    join(notebooks, "market-overview.html"),
    `<!doctype html><html><head><style>body{font-family:sans-serif}</style></head><body><h1>Market overview</h1><p>BTC/USD traded 600 times.</p><svg width="200" height="60"><rect x="0" y="0" width="120" height="40" fill="#4c78a8"/></svg></body></html>`,
  );
  writeFileSync(join(notebooks, "market-overview.ipynb"), "{}");
  writeFileSync(
    join(notebooks, "index.json"),
    JSON.stringify({
      generated_at: "2026-01-01T00:00:00.000000Z",
      notebooks: [
        {
          name: "market-overview",
          ok: true,
          ipynb: "market-overview.ipynb",
          html: "market-overview.html",
          started_at: "2026-01-01T00:00:00.000000Z",
          duration_ms: 1234,
          errors: [],
        },
      ],
    }),
  );
  for (const name of ["ingest", "cdc", "lake"]) standIns.push(startSourceStandIn(`tributary_${name}`));
  config = loadConfig({
    ...process.env,
    LAKE_URI: lake.root,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    LAKE_CONSUMER_GROUP: group,
    CONSOLE_SOURCES: "ingest,cdc,lake",
    INGEST_METRICS_PORT: String(standIns[0]?.port),
    CDC_METRICS_PORT: String(standIns[1]?.port),
    LAKE_METRICS_PORT: String(standIns[2]?.port),
    CONSOLE_REFRESH_MS: "1000",
    CONSOLE_NOTEBOOKS_DIR: notebooks,
  });

  // Kafka: a topic with messages and the lake's group committed two short of the end.
  admin = createKafka(config.kafka, "console-e2e").admin();
  await admin.connect();
  await ensureTopics(admin, [topicSpec(config.kafka, topic, 3)]);
  const producer = createKafka(config.kafka, "console-e2e").producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, value: `{"n":${i}}` })),
  });
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  const commits = offsets.map((o) => {
    const high = BigInt(o.high);
    const committed = high >= 2n ? high - 2n : high;
    expectedLag.set(o.partition, high - committed);
    return { partition: o.partition, offset: committed.toString() };
  });
  await admin.setOffsets({ groupId: group, topic, partitions: commits });

  history = RunHistory.open(historyPath(config.stateDir));
  scheduler = new Scheduler({
    jobs: [rowCountJob(lake.root)],
    history,
    log: quiet,
    requestPollMs: 250,
    heartbeatMs: 500,
  });
  await scheduler.start();
  running = await startConsole(config, { port: 0, log: quiet });
}, 90_000);

afterAll(async () => {
  await running?.stop();
  await scheduler?.stop();
  history?.close();
  for (const s of standIns) s.stop();
  if (admin) {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
  }
  rmSync(scratch, { recursive: true, force: true });
  rmSync(lake.root, { recursive: true, force: true });
}, 30_000);

describe("console in a browser against a running pipeline", () => {
  test("every page renders live data, a re-run shows in the history, a query returns rows", async () => {
    await withChromium(async (context) => {
      const page = await context.newPage();
      const shots: string[] = [];

      // Overview: sources, Kafka lag per partition, lake datasets, jobs; refreshing live.
      await page.goto(`${running.url}/`);
      await page.waitForSelector(`#kafka tr[data-topic="${topic}"]`);
      expect(await page.locator("#health-badge").textContent({ timeout: 5000 })).toBe("healthy");
      expect(await page.locator("#sources tr[data-source]").count()).toBe(3);
      expect(await page.locator("#sources").textContent()).not.toContain("down");
      const lags = await page.locator(`#kafka tr[data-topic="${topic}"] td.lag`).allInnerTexts();
      expect(lags).toEqual(
        [...expectedLag.entries()].sort((a, b) => a[0] - b[0]).map(([, lag]) => lag.toString()),
      );
      const bronze = page.locator('#lake tr[data-dataset="bronze/kraken_trades"]');
      expect(await bronze.textContent()).toContain("1,200");
      expect(await bronze.textContent()).toContain("fresh");
      expect(await page.locator('#jobs tr[data-job="lake.silver-row-count"]').count()).toBe(1);
      const metricBefore = await page.locator('#sources tr[data-source="ingest"]').textContent();
      // The stand-in's counter grows per scrape: the row changes only if the page refreshes itself.
      let metricAfter = metricBefore;
      for (let i = 0; i < 50 && metricAfter === metricBefore; i++) {
        await Bun.sleep(100);
        metricAfter = await page.locator('#sources tr[data-source="ingest"]').textContent();
      }
      expect(metricAfter).not.toBe(metricBefore);
      expect(await page.locator("#live-status").textContent()).toContain("live");
      shots.push(await screenshot(page, "overview"));

      // Jobs: re-run from the browser; the owning scheduler runs it; the history shows it live.
      await page.goto(`${running.url}/jobs`);
      await page.click('tr[data-job="lake.silver-row-count"] button[name="rerun"]');
      await page.waitForSelector("#flash");
      expect(await page.locator("#flash").textContent()).toContain(
        "Re-run of lake.silver-row-count requested",
      );
      const manualRun = page.locator('#runs tr[data-status="succeeded"]', { hasText: "manual" });
      await manualRun.first().waitFor({ timeout: 10_000 });
      expect(await manualRun.first().textContent()).toContain("1,200");
      const runs = history.recentRuns({ job: "lake.silver-row-count" });
      expect(runs[0]?.trigger).toBe("manual");
      expect(runs[0]?.rows).toBe(1200);
      // A backfill over three hours from the same page.
      const hourAgo = new Date(Date.now() - 3 * 3_600_000);
      const from = `${hourAgo.toISOString().slice(0, 13)}`;
      const to = `${new Date(hourAgo.getTime() + 3 * 3_600_000).toISOString().slice(0, 13)}`;
      const row = page.locator('tr[data-job="lake.silver-row-count"]');
      await row.locator('input[name="from"]').fill(from);
      await row.locator('input[name="to"]').fill(to);
      await row.locator('button[name="backfill"]').click();
      await page.waitForSelector("#flash");
      await page
        .locator("#requests tr", { hasText: "backfill" })
        .locator(".badge.ok")
        .first()
        .waitFor({ timeout: 15_000 });
      expect(await page.locator("#runs tr", { hasText: "backfill" }).count()).toBe(3);
      shots.push(await screenshot(page, "jobs"));

      // Lake browser: datasets, then one dataset's schema, partitions and sample rows.
      await page.goto(`${running.url}/lake`);
      expect(await page.locator("tr[data-dataset]").count()).toBe(lake.datasets().length);
      shots.push(await screenshot(page, "lake"));
      await page.click('tr[data-dataset="bronze/kraken_trades"] a');
      await page.waitForSelector("#schema");
      expect(await page.locator("#schema").textContent()).toContain("kafka_offset");
      expect(await page.locator("#sample tbody tr").count()).toBe(20);
      expect(await page.locator("#partitions tbody tr").count()).toBe(6);
      shots.push(await screenshot(page, "dataset"));

      // SQL box: a query returns rows.
      await page.goto(`${running.url}/query`);
      await page.fill(
        "textarea[name=sql]",
        "SELECT symbol, count(*) AS trades, sum(qty) AS volume FROM silver.kraken_trades GROUP BY symbol ORDER BY symbol",
      );
      await page.click("#run-query");
      await page.waitForSelector("#query-result");
      const cells = await page.locator("#query-result tbody tr").allInnerTexts();
      expect(cells).toHaveLength(2);
      expect(cells[0]).toContain("BTC/USD"); // the file's symbol, never the partition's path form
      expect(cells[0]).toContain("600");
      shots.push(await screenshot(page, "query"));
      await page.fill("textarea[name=sql]", "COPY silver.kraken_trades TO '/tmp/x.csv'");
      await page.click("#run-query");
      expect(await page.locator("#query-error").textContent()).toContain("COPY is not allowed");

      // Notebooks: the gallery with the last run, and the rendered notebook.
      await page.goto(`${running.url}/notebooks`);
      const nb = page.locator('tr[data-notebook="market-overview"]');
      expect(await nb.textContent()).toContain("2026-01-01T00:00:00Z");
      await nb.locator("a").first().click();
      const frame = page.frameLocator("iframe.notebook");
      expect(await frame.locator("h1").textContent()).toBe("Market overview");
      shots.push(await screenshot(page, "notebook"));

      // Data quality: the gold quality data as charts.
      await page.goto(`${running.url}/quality`);
      const panel = page.locator('[data-quality="data_quality_hourly"]');
      // One chart per numeric column of gold/data_quality_hourly.
      expect(await panel.locator("figure svg").count()).toBe(13);
      expect(await panel.locator('figure[data-metric="rows"] g.line_marks path').count()).toBe(2);
      // Every chart stays inside its grid cell.
      const overflow = await panel.locator("figure").evaluateAll(
        (figures) =>
          figures.filter((f) => {
            const svg = f.querySelector("svg");
            return svg && svg.getBoundingClientRect().right > f.getBoundingClientRect().right + 0.5;
          }).length,
      );
      expect(overflow).toBe(0);
      shots.push(await screenshot(page, "quality"));

      expect(shots.length).toBe(7);
    });

    // The API serves the same: health, metrics, query as JSON and as Arrow IPC.
    const health = await fetch(`${running.url}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(checkMetrics(metrics)).toEqual({ exitCode: 0, problems: [] });
    expect(metrics).toContain("tributary_up 1");
    expect(metrics).toContain(`tributary_kafka_consumer_lag{topic="${topic}",partition="0"}`);
    expect(metrics).toMatch(
      /tributary_job_runs_total\{job="lake.silver-row-count",status="succeeded"\} [1-9]/,
    );
    const arrow = await fetch(`${running.url}/api/query`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/vnd.apache.arrow.stream" },
      body: JSON.stringify({
        sql: "SELECT symbol, price, ts FROM silver.kraken_trades ORDER BY trade_id, symbol LIMIT 3",
      }),
    });
    expect(arrow.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    const { tableFromIPC } = await import("apache-arrow");
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([
      "Utf8",
      "Decimal[38e+10]",
      "Timestamp<MICROSECOND, UTC>",
    ]);
  }, 120_000);
});
