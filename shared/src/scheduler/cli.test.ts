import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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
      log: createLogger("test", "error", () => {}),
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

  test("list describes the jobs of the state directory: this configuration's and other processes'", async () => {
    const h = harness([hourly]);
    const history = RunHistory.open(historyPath(h.stateDir));
    history.owners.register("elsewhere", [
      {
        name: "other.job",
        pattern: "0 0 * * *",
        description: "theirs",
        timeoutMs: 1,
        retries: 0,
        catchUp: false,
        after: [],
      },
    ]);
    history.owners.stop("elsewhere", "done");
    history.close();
    expect(await h.run(["list", "--json"])).toBe(0);
    const listed = h.out.map(
      (l) => JSON.parse(l) as { name: string; source: string; nextSlot: string | null; owner: string },
    );
    expect(listed.map((l) => [l.name, l.source])).toEqual([
      ["demo.hourly", "configuration"],
      ["other.job", "state directory"],
    ]);
    expect(listed[0]?.nextSlot).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/);
    expect(listed[1]?.owner).toContain("(stopped)");
    h.out.length = 0;
    expect(await h.run(["list"])).toBe(0);
    expect(h.out[0]).toBe(
      `jobs of state directory ${h.stateDir}: 1 in this configuration, 1 registered there by other processes only`,
    );
  });

  test("--help answers the usage with exit 0; bad usage answers one line with exit 2", async () => {
    const h = harness([hourly]);
    for (const argv of [["--help"], ["-h"], ["run", "demo.hourly", "--help"], []]) {
      h.out.length = 0;
      expect(await h.run(argv)).toBe(0);
      expect(h.out.join("")).toStartWith("Usage: bun run jobs <command>");
    }
    const refusals: [string[], string][] = [
      [["list", "--fast"], "jobs: unknown option --fast (bun run jobs --help shows the usage)"],
      [["frobnicate"], 'jobs: unknown command "frobnicate" (bun run jobs --help shows the usage)'],
      [
        ["run", "nope"],
        'jobs: no job named "nope"; registered: demo.hourly (bun run jobs --help shows the usage)',
      ],
      [
        ["backfill", "demo.hourly", "--from", "2024-03-02", "--to", "2024-03-01"],
        "jobs: backfill range is empty: from 2024-03-02T00:00:00.000Z is not before to 2024-03-01T00:00:00.000Z (bun run jobs --help shows the usage)",
      ],
    ];
    for (const [argv, line] of refusals) {
      h.err.length = 0;
      expect(await h.run(argv)).toBe(2);
      expect(h.err).toEqual([`${line}\n`]);
    }
  });

  test("run of an unknown job registers nothing in the state directory", async () => {
    const h = harness([hourly]);
    expect(await h.run(["run", "nosuchjob"])).toBe(2);
    expect(existsSync(historyPath(h.stateDir))).toBe(false);
  });

  test("history filters by status and pages; logs prints what a run logged", async () => {
    const h = harness([
      {
        ...hourly,
        run: async (ctx) => {
          ctx.log.info("counted");
          return { rows: 1 };
        },
      },
      { ...hourly, name: "demo.broken", run: async () => Promise.reject(new Error("boom")) },
    ]);
    for (let i = 0; i < 3; i++) await h.run(["run", "demo.hourly"]);
    await h.run(["run", "demo.broken"]);
    h.out.length = 0;
    expect(await h.run(["history", "--status", "failed", "--json"])).toBe(0);
    expect(h.out.map((l) => (JSON.parse(l) as { job: string }).job)).toEqual(["demo.broken"]);
    h.out.length = 0;
    expect(await h.run(["history", "demo.hourly", "--limit", "2"])).toBe(0);
    expect(h.out.at(-1)).toBe(
      "3 runs match; the next page: bun run jobs history demo.hourly --limit 2 --before 2",
    );
    h.out.length = 0;
    expect(await h.run(["logs", "1"])).toBe(0);
    expect(h.out[0]).toStartWith("run 1 of demo.hourly: succeeded, attempt 1");
    expect(h.out[1]).toMatch(/^\S+Z info {2}counted$/);
    expect(await h.run(["history", "--status", "nope"])).toBe(2);
  });

  test("arguments and times are parsed strictly", () => {
    expect(parseArgs(["backfill", "x", "--from=2024-01-01", "--to", "2024-01-02"]).flags.get("--from")).toBe(
      "2024-01-01",
    );
    expect(() => parseArgs(["run", "x", "--at"])).toThrow("--at needs a value");
    expect(() => parseArgs(["run", "x", "--fast"])).toThrow("unknown option --fast");
    expect(() => parseArgs(["history", "--status"])).toThrow("--status needs a value");
    expect(parseUtcTime("2024-03-01T14", "--from").toISOString()).toBe("2024-03-01T14:00:00.000Z");
    expect(parseUtcTime("2024-03-01T14:30:00+02:00", "--from").toISOString()).toBe(
      "2024-03-01T12:30:00.000Z",
    );
    expect(() => parseUtcTime("yesterday", "--from")).toThrow(UsageError);
  });
});
