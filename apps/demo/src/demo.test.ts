import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startConsole } from "@tributary/console/server";
import { loadConfig } from "@tributary/shared/config";
import { freePort } from "@tributary/shared/net/ports";
import { screenshot, withChromium } from "@tributary/shared/testing/browser";
import { uniqueName } from "@tributary/shared/testing/names";
import { ROOT } from "./children.ts";

// The demo as CI and a new user run it: `bun run demo --duration 30s --json`, in its own lake,
// export folder and consumer group so that it proves this run's pipeline, not an earlier one's.
test("bun run demo --duration 30s --json fills every bronze, silver and gold dataset with 48 hours of market per symbol, reconciles Kraken's candles and writes CSV files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-demo-"));
  try {
    const proc = Bun.spawn(["bun", "run", "demo", "--duration", "30s", "--json"], {
      cwd: ROOT,
      env: {
        ...process.env,
        LAKE_URI: join(dir, "lake"),
        EXPORT_DIR: join(dir, "export"),
        CONSOLE_NOTEBOOKS_DIR: join(dir, "notebooks"),
        LAKE_CONSUMER_GROUP: uniqueName("demo"),
        CONSOLE_PORT: String(freePort()),
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    const last = stdout.trim().split("\n").pop() ?? "";
    if (code !== 0) console.error(stderr.slice(-4000));
    const summary = JSON.parse(last) as {
      ok: boolean;
      layers: Record<string, Record<string, { rows: number; files: number }>>;
      symbols: Record<string, { trades: number; hours: number }>;
      reconciliation: Record<string, number>;
      csv_files: number;
      notebooks: string[];
      console: string;
    };
    expect(code).toBe(0);
    expect(summary.ok).toBe(true);
    expect(Object.keys(summary.layers.bronze ?? {})).toEqual(
      expect.arrayContaining(["kraken_trades", "kraken_ticker", "cdc_public_tesouro_prices"]),
    );
    expect(Object.keys(summary.layers.silver ?? {})).toEqual(
      expect.arrayContaining(["kraken_trades", "kraken_ticker", "cdc_public_tesouro_prices"]),
    );
    expect(Object.keys(summary.layers.gold ?? {})).toEqual(
      expect.arrayContaining([
        "candles_1m",
        "candles_1h",
        "candles_1d",
        "daily_summary",
        "data_quality_hourly",
        "market_metrics_1m",
        "tesouro_yield_curve",
      ]),
    );
    for (const [layer, datasets] of Object.entries(summary.layers)) {
      for (const [name, d] of Object.entries(datasets))
        expect([layer, name, d.rows > 0]).toEqual([layer, name, true]);
    }
    // Only the symbols this run's market traded, each with at least two days of market time.
    expect(Object.keys(summary.symbols).sort()).toEqual(["BTC/USD", "DOGE/USD", "ETH/USD"]);
    for (const span of Object.values(summary.symbols)) expect(span.hours).toBeGreaterThanOrEqual(48);
    expect(summary.layers.silver?.kraken_ohlc_1m?.rows ?? 0).toBeGreaterThan(0);
    expect(summary.layers.gold?.candle_reconciliation?.rows ?? 0).toBeGreaterThan(0);
    // The simulator falsifies 1 % of Kraken's candles: both verdicts appear.
    expect(summary.reconciliation.agree ?? 0).toBeGreaterThan(0);
    expect(summary.reconciliation.disagree ?? 0).toBeGreaterThan(0);
    expect(summary.csv_files).toBeGreaterThan(0);
    expect(summary.notebooks.length).toBe(4);
    expect(summary.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The console on the lake this pipeline just built: pages render its data, a query returns rows.
    const config = loadConfig({
      ...process.env,
      LAKE_URI: join(dir, "lake"),
      CONSOLE_NOTEBOOKS_DIR: join(dir, "notebooks"),
      CONSOLE_SOURCES: "none",
    });
    const running = await startConsole(config, { port: 0 });
    try {
      await withChromium(async (context) => {
        const page = await context.newPage();
        await page.goto(`${running.url}/`);
        await page.waitForSelector('#lake tr[data-dataset="silver/kraken_trades"]');
        await screenshot(page, "console", "pipeline-overview");
        await page.goto(`${running.url}/lake`);
        expect(await page.locator("tr[data-dataset]").count()).toBeGreaterThanOrEqual(15);
        await screenshot(page, "console", "pipeline-lake");
        await page.goto(`${running.url}/query`);
        await page.fill("textarea[name=sql]", "SELECT count(*) AS trades FROM silver.kraken_trades");
        await page.click("#run-query");
        await page.waitForSelector("#query-result");
        const rows = await page.locator("#query-result tbody tr").allInnerTexts();
        expect(Number((rows[0] ?? "0").replace(/[^0-9]/g, ""))).toBe(
          summary.layers.silver?.kraken_trades?.rows ?? -1,
        );
        await screenshot(page, "console", "pipeline-query");
        await page.goto(`${running.url}/quality`);
        expect(await page.locator("figure svg").count()).toBeGreaterThan(0);
        await screenshot(page, "console", "pipeline-quality");
        await page.goto(`${running.url}/notebooks`);
        expect(await page.locator("tr[data-notebook]").count()).toBe(4);
        await screenshot(page, "console", "pipeline-notebooks");
      });
    } finally {
      await running.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 400_000);
