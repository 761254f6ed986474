import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { parseArgs, parseUtcTime, runJobsCli, UsageError } from "./cli.ts";
import { historyPath, RunHistory } from "./history.ts";
import type { JobDefinition } from "./job.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function harness(jobs: JobDefinition[]) {
  const stateDir = mkdtempSync(join(tmpdir(), "jobs-cli-"));
  dirs.push(stateDir);
  const config = loadConfig({ TRIBUTARY_STATE_DIR: stateDir, SCHEDULER_RETRY_BASE_MS: "1" }, stateDir);
  const out: string[] = [];
  const err: string[] = [];
  const run = (argv: string[]) =>
    runJobsCli(argv, {
      config,
      jobs,
      log: createLogger("test", "error", () => true),
      io: { out: (l) => out.push(l), err: { write: (t: string) => err.push(t), isTTY: false } },
    });
  return { run, out, err, stateDir };
}

const hourly: JobDefinition = {
  name: "demo.hourly",
  pattern: "0 * * * *",
  description: "Counts an hour",
  timeoutMs: 5000,
  run: async (ctx) => ({
    rows: ctx.range ? (ctx.range.to.getTime() - ctx.range.from.getTime()) / 3_600_000 : 1,
  }),
};

describe("bun run jobs", () => {
  test("run executes the job now and records it; the exit code says how it went", async () => {
    const h = harness([
      hourly,
      { ...hourly, name: "demo.broken", run: async () => Promise.reject(new Error("boom")) },
    ]);
    expect(await h.run(["run", "demo.hourly"])).toBe(0);
    expect(h.out).toEqual(["demo.hourly succeeded attempts=1 rows=1"]);
    expect(await h.run(["run", "demo.broken"])).toBe(1);
    expect(h.out[1]).toBe("demo.broken failed attempts=1 error=boom");
    const history = RunHistory.open(historyPath(h.stateDir));
    try {
      expect(history.recentRuns().map((r) => [r.job, r.trigger, r.status])).toEqual([
        ["demo.broken", "manual", "failed"],
        ["demo.hourly", "manual", "succeeded"],
      ]);
    } finally {
      history.close();
    }
  });

  test("backfill runs one range per slot with a plain progress bar off a terminal", async () => {
    const h = harness([hourly]);
    expect(await h.run(["backfill", "demo.hourly", "--from", "2024-03-01T22", "--to", "2024-03-02T01"])).toBe(
      0,
    );
    expect(h.out[0]).toBe(
      "demo.hourly backfill 2024-03-01T22:00:00.000Z..2024-03-02T01:00:00.000Z: 3/3 ranges succeeded, 0 failed",
    );
    expect(h.err.join("")).toContain("backfill demo.hourly 100% 3/3");
    expect(h.err.join("")).not.toContain("\x1b");
  });

  test("list shows each job with its next slot; bad usage exits 2 with the usage text", async () => {
    const h = harness([hourly]);
    expect(await h.run(["list", "--json"])).toBe(0);
    const listed = JSON.parse(h.out[0] ?? "{}") as { name: string; nextSlot: string; lastStatus: null };
    expect(listed.name).toBe("demo.hourly");
    expect(listed.nextSlot).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/);
    expect(await h.run(["run", "nope"])).toBe(2);
    expect(h.err.join("")).toContain('no job named "nope"; registered: demo.hourly');
    expect(await h.run(["backfill", "demo.hourly", "--from", "2024-03-02", "--to", "2024-03-01"])).toBe(2);
    expect(h.err.join("")).toContain("backfill range is empty");
    expect(await h.run(["frobnicate"])).toBe(2);
    expect(h.err.join("")).toContain("Usage: bun run jobs");
  });

  test("arguments and times are parsed strictly", () => {
    expect(parseArgs(["backfill", "x", "--from=2024-01-01", "--to", "2024-01-02"]).flags.get("--from")).toBe(
      "2024-01-01",
    );
    expect(() => parseArgs(["run", "x", "--at"])).toThrow("--at needs a value");
    expect(() => parseArgs(["run", "x", "--fast"])).toThrow("unknown option --fast");
    expect(parseUtcTime("2024-03-01T14", "--from").toISOString()).toBe("2024-03-01T14:00:00.000Z");
    expect(parseUtcTime("2024-03-01T14:30:00+02:00", "--from").toISOString()).toBe(
      "2024-03-01T12:30:00.000Z",
    );
    expect(() => parseUtcTime("yesterday", "--from")).toThrow(UsageError);
  });
});
