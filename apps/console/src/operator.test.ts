/**
 * What an operator does in a real browser (Chromium): reads a dead letter in the message browser,
 * opens a failed run's log from the history, downloads a query result as CSV and Parquet, and sees a
 * notebook report's chart turn interactive with the chart runtime the console serves beside it.
 * Screenshots: test-artifacts/console-operator/*.png.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lineChart, VEGA_LITE_MIME } from "@tributary/notebooks/charts";
import { CHARTS_RUNTIME_FILE, chartsRuntime } from "@tributary/notebooks/charts-runtime";
import { renderBundle } from "@tributary/notebooks/format/html";
import { type Config, loadConfig } from "@tributary/shared/config";
import { createKafka, dlqHeaders, ensureTopics, topicSpec } from "@tributary/shared/kafka";
import { createLogger } from "@tributary/shared/log";
import { historyPath, RunHistory } from "@tributary/shared/scheduler/history";
import { screenshot, withChromium } from "@tributary/shared/testing/browser";
import { uniqueName } from "@tributary/shared/testing/names";
import { type Admin, Partitioners } from "kafkajs";
import { type RunningConsole, startConsole } from "./server.ts";

const dlq = uniqueName("console_operator_dlq");
let scratch: string;
let config: Config;
let running: RunningConsole;
let admin: Admin;
let failedRun = 0;

async function writeReport(dir: string): Promise<void> {
  const chart = await lineChart(
    [0, 1, 2, 3].flatMap((h) => [
      { x: Date.UTC(2026, 0, 5, h), y: 10 + h, series: "BTC/USD" },
      { x: Date.UTC(2026, 0, 5, h), y: 20 - h, series: "ETH/USD" },
    ]),
    { title: "trades per hour", yTitle: "trades" },
  );
  const figure = renderBundle({
    "image/svg+xml": chart.svg,
    [VEGA_LITE_MIME]: chart.spec,
    "text/plain": chart.text,
  });
  writeFileSync(
    join(dir, "market-overview.html"),
    `<!doctype html><html><head><meta charset="utf-8"><title>Market overview</title></head><body><h1>Market overview</h1>${figure}<script src="${CHARTS_RUNTIME_FILE}" defer></script></body></html>`,
  );
  writeFileSync(join(dir, CHARTS_RUNTIME_FILE), await chartsRuntime());
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-operator-"));
  const lake = join(scratch, "lake");
  for (const layer of ["bronze", "silver", "gold"]) mkdirSync(join(lake, layer), { recursive: true });
  const notebooks = join(scratch, "notebooks");
  mkdirSync(notebooks);
  await writeReport(notebooks);
  config = loadConfig({
    ...process.env,
    LAKE_URI: lake,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
    CONSOLE_NOTEBOOKS_DIR: notebooks,
  });

  admin = createKafka(config.kafka, "console-operator").admin();
  await admin.connect();
  await ensureTopics(admin, [topicSpec(config.kafka, dlq, 1)]);
  const producer = createKafka(config.kafka, "console-operator").producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  await producer.send({
    topic: dlq,
    messages: [
      {
        key: "BTC/USD",
        value: '{"price": "-1"',
        headers: dlqHeaders("malformed JSON: unexpected end", "ws", "kraken.trades"),
      },
    ],
  });
  await producer.disconnect();

  const history = RunHistory.open(historyPath(config.stateDir));
  const spec = {
    name: "gold.market",
    pattern: "*/5 * * * * *",
    description: "gold",
    timeoutMs: 1000,
    retries: 0,
    catchUp: false,
    after: [],
  };
  history.owners.register("operator-test", [spec]);
  failedRun = history.startRun({
    job: "gold.market",
    scheduledFor: 0,
    trigger: "schedule",
    attempt: 1,
    owner: "operator-test",
  });
  history.appendLog(failedRun, "info", "reading 24 silver partitions");
  history.appendLog(failedRun, "error", "write failed: No space left on device");
  history.finishRun(failedRun, { status: "failed", error: "write failed: No space left on device" });
  history.close();

  running = await startConsole(config, {
    port: 0,
    log: createLogger("console-operator", "error", () => {}),
  });
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await admin?.deleteTopics({ topics: [dlq] }).catch(() => undefined);
  await admin?.disconnect();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);

describe("an operator in the browser", () => {
  test("reads a dead letter, a failed run's log, downloads a result and sees a live notebook chart", async () => {
    await withChromium(async (context) => {
      const page = await context.newPage();

      // Message browser: the DLQ's reason, from its headers.
      await page.goto(`${running.url}/messages`);
      await page.selectOption("select[name=topic]", dlq);
      await page.click("#browse-go");
      await page.waitForSelector("#messages article.message");
      expect(await page.locator(".dlq-reason").textContent()).toContain("malformed JSON: unexpected end");
      expect(await page.locator("article.message").getAttribute("data-kind")).toBe("text");
      await screenshot(page, "console-operator", "messages");

      // Run log: from the history to the run's page.
      await page.goto(`${running.url}/jobs?status=failed`);
      await page.click(`#runs a[href="/jobs/runs/${failedRun}"]`);
      await page.waitForSelector("#run-log");
      expect(await page.locator("#run-log").textContent()).toContain("reading 24 silver partitions");
      expect(await page.locator("#run-log .level-error").textContent()).toContain("No space left on device");
      await screenshot(page, "console-operator", "run-log");

      // Download: the SQL box's buttons give the files.
      await page.goto(`${running.url}/query`);
      await page.fill(
        "textarea[name=sql]",
        "SELECT 1 AS n, 'BTC/USD' AS symbol, 64000.5::DECIMAL(18,8) AS price",
      );
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
      expect(csv.suggestedFilename()).toMatch(/^tributary-query-\d{8}T\d{6}Z\.csv$/);
      expect(readFileSync(await csv.path(), "utf8")).toBe("n,symbol,price\r\n1,BTC/USD,64000.50000000\r\n");
      const [parquet] = await Promise.all([page.waitForEvent("download"), page.click("#download-parquet")]);
      const bytes = readFileSync(await parquet.path());
      expect(bytes.subarray(0, 4).toString()).toBe("PAR1");

      // Notebook: the report's chart upgrades to vega-embed inside the sandboxed frame.
      await page.goto(`${running.url}/notebooks/market-overview`);
      const frame = page.frameLocator("iframe.notebook");
      await frame.locator("figure.chart.interactive").waitFor({ timeout: 15_000 });
      expect(await frame.locator("figure.chart.interactive svg").count()).toBeGreaterThan(0);
      await screenshot(page, "console-operator", "notebook");
    });
  }, 60_000);
});
