import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { historyPath, type JobSpec, RunHistory } from "@tributary/shared/scheduler/history";
import { type RunningConsole, startConsole } from "../server.ts";
import { depths, jobsGraph } from "./graph.ts";

const spec = (name: string, after: string[] = []): JobSpec => ({
  name,
  pattern: "*/5 * * * * *",
  description: name,
  timeoutMs: 1000,
  retries: 0,
  catchUp: false,
  after,
});
const SPECS = [
  spec("silver.trades"),
  spec("silver.ticker"),
  spec("gold.market", ["silver.trades", "silver.ticker"]),
  spec("export.csv", ["gold.market"]),
];

let scratch: string;
let running: RunningConsole;
let history: RunHistory;
let failedRun = 0;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "console-jobs-"));
  const config = loadConfig({
    ...process.env,
    LAKE_URI: join(scratch, "lake"),
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
  });
  history = RunHistory.open(historyPath(config.stateDir));
  history.owners.register("owner-1", SPECS);
  for (let i = 0; i < 120; i++) {
    const job = SPECS[i % SPECS.length]?.name ?? "";
    const id = history.startRun({
      job,
      scheduledFor: i * 5_000_000,
      trigger: "schedule",
      attempt: 1,
      owner: "owner-1",
    });
    history.appendLog(id, "info", `run ${i} read 12 files`);
    const failed = i === 117;
    if (failed) {
      history.appendLog(id, "error", "disk full: <no space> left on /lake");
      failedRun = id;
    }
    history.finishRun(
      id,
      failed ? { status: "failed", error: "disk full" } : { status: "succeeded", rows: i },
    );
  }
  running = await startConsole(config, { port: 0, log: createLogger("console-jobs", "error", () => {}) });
}, 30_000);

afterAll(async () => {
  await running?.stop();
  history?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const get = (path: string) => running.app.request(path);
type Page = { runs: { id: number }[]; total: number; nextBefore?: number };
const page = async (path: string) => (await (await get(path)).json()) as Page;

describe("the jobs' dependency graph", () => {
  test("a job sits one column right of its deepest dependency, with an arrow from each", () => {
    const views = SPECS.map((s) => ({ spec: s, owned: true, running: false }));
    expect(Object.fromEntries(depths(views))).toEqual({
      "silver.trades": 0,
      "silver.ticker": 0,
      "gold.market": 1,
      "export.csv": 2,
    });
    const svg = jobsGraph(views as unknown as Parameters<typeof jobsGraph>[0]);
    expect(svg.match(/class="edge"/g)).toHaveLength(3);
    expect(svg).toContain('data-from="gold.market" data-to="export.csv"');
    expect(svg.match(/class="node"/g)).toHaveLength(4);
  });

  test("the jobs page draws it with each job's last status", async () => {
    const text = await (await get("/jobs")).text();
    expect(text).toContain('aria-label="job dependency graph"');
    expect(text).toMatch(/data-job="silver.ticker" data-status="failed"/);
    expect(text).toMatch(/data-job="gold.market" data-status="succeeded"/);
  });
});

describe("the run history, filtered and paged", () => {
  test("pages of 50 runs, newest first, with a link to the older ones until none are left", async () => {
    const first = await (await get("/jobs")).text();
    expect(first).toContain("50 of 120 run(s)");
    const older = first.match(/id="older" href="([^"]+)"/)?.[1]?.replaceAll("&amp;", "&");
    expect(older).toBe("/jobs?before=71");
    const second = await (await get(older ?? "")).text();
    expect(second).toContain('data-run="70"');
    expect(second).not.toContain('data-run="71"');
    const third = await (await get("/jobs?before=21")).text();
    expect(third).toContain("20 of 120 run(s)");
    expect(third).toContain("no older runs");
  });

  test("a filter by job, status and trigger narrows the history and survives paging", async () => {
    const text = await (await get("/jobs?job=gold.market&status=succeeded&trigger=schedule")).text();
    expect(text).toContain("30 of 30 run(s)");
    expect(text.match(/data-run="\d+"/g)).toHaveLength(30);
    const older = await (await get("/jobs?job=export.csv&before=100")).text();
    expect(older).toContain("24 of 30 run(s) before #100");
    expect(older).toContain('<a href="/jobs?job=export.csv">newest</a>');
    const notOk = await page("/api/jobs/runs?status=failed,timed_out,abandoned");
    expect(notOk.total).toBe(1);
    expect(notOk.runs[0]?.id).toBe(failedRun);
    const paged = await page("/api/jobs/runs?job=export.csv&limit=10");
    expect(paged.runs).toHaveLength(10);
    expect(paged.nextBefore).toBe(paged.runs[9]?.id);
  });

  test("a bad filter is a 400 naming the parameter", async () => {
    const status = await get("/api/jobs/runs?status=exploded");
    expect(status.status).toBe(400);
    expect(((await status.json()) as { error: string }).error).toContain("status");
    const trigger = await get("/jobs?trigger=cron");
    expect(trigger.status).toBe(400);
    expect(await trigger.text()).toContain("trigger: expected one of schedule, catch-up, manual, backfill");
  });
});

describe("per-run logs", () => {
  test("a run's page shows its full error and every line it logged, escaped", async () => {
    const res = await get(`/jobs/runs/${failedRun}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('id="run-error"');
    expect(text).toContain("disk full: &lt;no space&gt; left on /lake");
    expect(text).toContain("2 line(s)");
    const api = (await (await get(`/api/jobs/runs/${failedRun}`)).json()) as {
      run: { effectiveStatus: string };
      logs: { level: string }[];
    };
    expect(api.logs.map((l) => l.level)).toEqual(["info", "error"]);
    expect(api.run.effectiveStatus).toBe("failed");
  });

  test("a pruned run is a 404 that says why", async () => {
    history.prune(Number.MAX_SAFE_INTEGER);
    const res = await get(`/jobs/runs/${failedRun}`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("SCHEDULER_HISTORY_DAYS");
    expect((await get(`/api/jobs/runs/${failedRun}`)).status).toBe(404);
  });
});
