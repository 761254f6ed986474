/**
 * The documentation cannot rot: every concrete `bun run …` in README.md, README.pt-BR.md and docs/
 * is in commands.ts with the test that runs it (or runs here); every flag a document gives a command
 * is in that command's --help; every CLI answers --help with its usage and exit 0, and an unknown
 * flag with one line and exit 2. README's backfill example runs here on a lake with a week of trades.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { commitBronze, tradeJson } from "@tributary/lake/testing/bronze-fixture";
import { loadConfig } from "@tributary/shared/config";
import { CommitLog } from "@tributary/shared/lake/commit-log";
import { createLakeStore } from "@tributary/shared/lake/store";
import { DOCUMENTED_COMMANDS } from "./commands.ts";
import { documentedCommands } from "./documented.ts";

const ROOT = resolve(import.meta.dir, "../..");
const scripts = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;
/** Scripts that are not Tributary's own command lines. */
const NOT_CLIS = new Set(["lint", "typecheck", "test", "test:soak"]);
const CLIS = Object.keys(scripts).filter((s) => !NOT_CLIS.has(s));
const documented = documentedCommands(ROOT);

let sandbox: string;
beforeAll(() => {
  sandbox = mkdtempSync(join(tmpdir(), "docs-commands-"));
});
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

/** Runs `bun run <args>` from the repository root; `sandboxed` gives it its own state dir and lake. */
async function bunRun(args: readonly string[], sandboxed = true) {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: "error" };
  if (sandboxed) {
    env.TRIBUTARY_STATE_DIR = join(sandbox, "state");
    env.LAKE_URI = join(sandbox, "lake");
    env.EXPORT_DIR = join(sandbox, "export");
  }
  const child = Bun.spawn(["bun", "run", ...args], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

/** `bun run` splits on spaces; documented arguments here never quote. */
const argsOf = (command: string): string[] => command.replace(/^bun run /, "").split(/\s+/);

describe("the documented commands", () => {
  test("every concrete command in the docs is in the maintained list, and every entry is still documented", () => {
    const concrete = new Map(documented.filter((c) => !c.synopsis).map((c) => [c.text, c.where]));
    const unlisted = [...concrete]
      .filter(([text]) => !(text in DOCUMENTED_COMMANDS))
      .map(([t, w]) => `${w}: ${t}`);
    expect(unlisted).toEqual([]);
    const stale = Object.keys(DOCUMENTED_COMMANDS).filter((text) => !concrete.has(text));
    expect(stale).toEqual([]);
    for (const c of documented) expect([c.where, c.script in scripts]).toEqual([c.where, true]);
  });

  test("a command said to be run by a test file is spawned by that file", () => {
    for (const [text, how] of Object.entries(DOCUMENTED_COMMANDS)) {
      if (!("by" in how)) continue;
      const script = argsOf(text)[0] as string;
      const entry = scripts[script]?.replace(/^.*bun (\S+\.ts).*$/, "$1") ?? "";
      /** The file runs `bun run <name>`, or names the entry by its repository or relative path. */
      const spawnsIn = (file: string, name: string, path: string): boolean => {
        const body = readFileSync(join(ROOT, file), "utf8");
        const rel = relative(dirname(file), path);
        return (
          body.includes(`bun run ${name}`) ||
          body.includes(`"run", "${name}"`) ||
          body.includes(path) ||
          body.includes(`"${rel}"`)
        );
      };
      const direct = spawnsIn(how.by, script, entry);
      // `via` is a script's entry (apps/demo/src/demo.ts) or a helper module the test file imports.
      const via = how.via;
      const viaScript = via ? Object.keys(scripts).find((s) => scripts[s]?.includes(via)) : undefined;
      const viaModule = via ? `/${via.slice(via.lastIndexOf("/") + 1)}"` : "";
      const reachesVia =
        via !== undefined &&
        ((viaScript !== undefined && spawnsIn(how.by, viaScript, via)) ||
          readFileSync(join(ROOT, how.by), "utf8").includes(viaModule));
      const chained = via !== undefined && reachesVia && spawnsIn(via, script, entry);
      expect([text, how.by, direct || chained]).toEqual([text, how.by, true]);
    }
  });

  test("every CLI answers --help with its usage (exit 0) and an unknown flag with one line (exit 2), and documents every flag the docs use", async () => {
    const results = new Map<
      string,
      { help: Awaited<ReturnType<typeof bunRun>>; bad: Awaited<ReturnType<typeof bunRun>> }
    >();
    // Six at a time: each spends most of its time loading modules, little on the CPU.
    for (let i = 0; i < CLIS.length; i += 6) {
      await Promise.all(
        CLIS.slice(i, i + 6).map(async (cli) => {
          results.set(cli, {
            help: await bunRun([cli, "--help"]),
            bad: await bunRun([cli, "--no-such-flag"]),
          });
        }),
      );
    }
    for (const [cli, { help, bad }] of results) {
      expect([cli, help.code, /usage/i.test(help.stdout)]).toEqual([cli, 0, true]);
      expect([cli, bad.code]).toEqual([cli, 2]);
      // `bun run setup` runs bun install first, which prints its own lines.
      const ours = bad.stderr.split("\n").filter((l) => l.startsWith(`${cli}: `));
      expect([cli, ours.length, bad.stderr.includes("    at ")]).toEqual([cli, 1, false]);
    }
    const missing: string[] = [];
    for (const c of documented) {
      const usage = results.get(c.script)?.help.stdout ?? "";
      for (const flag of c.text.match(/--[a-z][a-z-]*/g) ?? [])
        if (!usage.includes(flag)) missing.push(`${c.where}: ${flag} of bun run ${c.script}`);
    }
    expect(missing).toEqual([]);
  }, 180_000);

  test("the commands marked `here` run and succeed", async () => {
    for (const [text, how] of Object.entries(DOCUMENTED_COMMANDS)) {
      if (!("here" in how) || text.includes("backfill")) continue;
      const r = await bunRun(argsOf(text), !how.sharedStack);
      // `bun run stack` without a command is a usage error by design; the others succeed.
      const expected = text === "bun run stack" ? 2 : 0;
      expect([text, r.code, r.stderr.slice(0, 300)]).toEqual([text, expected, expect.any(String)]);
    }
  }, 120_000);

  test("README's backfill example re-runs gold once per day of a week of trades", async () => {
    const config = loadConfig({
      ...process.env,
      LAKE_URI: join(sandbox, "lake"),
      TRIBUTARY_STATE_DIR: join(sandbox, "state"),
    });
    const days = ["01", "02", "03", "04", "05", "06", "07"];
    await commitBronze(
      new CommitLog(createLakeStore(config)),
      days.map((d, i) => ({
        partition: 0,
        offset: i,
        key: "BTC/USD",
        value: tradeJson({ trade_id: i + 1, ts: `2024-03-${d}T12:00:00.000000Z` }),
        ingestedAt: BigInt(Date.parse(`2024-03-${d}T12:00:01Z`)) * 1000n,
      })),
    );
    expect((await bunRun(["jobs", "run", "silver.trades"])).code).toBe(0);
    const backfill = await bunRun(
      argsOf("bun run jobs backfill gold.market --from 2024-03-01 --to 2024-03-08"),
    );
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toContain(
      "gold.market backfill 2024-03-01T00:00:00.000Z..2024-03-08T00:00:00.000Z: 7/7 ranges succeeded, 0 failed",
    );
    expect(backfill.stderr).toContain("backfill gold.market 100% 7/7");
    const daily = readdirSync(join(sandbox, "lake", "gold", "candles_1m", "pair=BTC_USD")).sort();
    expect(daily).toEqual(days.map((d) => `2024-03-${d}.parquet`));
    expect(existsSync(join(sandbox, "state", "scheduler", "runs.sqlite"))).toBe(true);
  }, 120_000);
});
