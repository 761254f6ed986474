/**
 * `bun run test:alone`: every test file (or the given ones) on its own, `bun test FILE` in a fresh
 * process, `--jobs N` at a time, reporting which pass, with wall and CPU time per file: the check
 * that no test depends on another file having run first, and the suite's profile.
 * `--timings FILE` writes the files' wall times in `bun test --timings` form (test-timings.json);
 * `--slowest-first FILE` reads them. A failing file's whole output is printed at the end, and the
 * last lines total the tests (`N pass`, `N skip`, `N fail`) as `bun test` does.
 */
import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { commandLineOrExit, parseCommandLine, UsageError } from "@tributary/shared/cli";
import { stackUp } from "../stack.ts";

const ROOT = resolve(import.meta.dir, "../../../..");

export interface FileResult {
  readonly file: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly passed: number;
  readonly failed: number;
  /** Tests skipped (e.g. soak-only ones): a file whose tests are all skipped passes. */
  readonly skipped: number;
  readonly wallS: number;
  readonly cpuS: number;
  /** The end of the output when the file failed. */
  readonly tail?: string;
}

/** Every tracked (or new, unignored) test file of the repository. */
export function testFiles(root = ROOT): string[] {
  const out = Bun.spawnSync(
    ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.test.ts", "**/*.test.ts"],
    { cwd: root },
  );
  return [...new Set(out.stdout.toString().split("\n").filter(Boolean))].sort();
}

const count = (text: string, word: "pass" | "fail" | "skip"): number =>
  Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(text)?.[1] ?? 0);

/** A file still running after this long is killed and fails (a hang must not stall CI for good). */
export const FILE_TIMEOUT_S = 1_200;

export async function runAlone(
  file: string,
  root = ROOT,
  timeoutMs = 120_000,
  fileTimeoutS = FILE_TIMEOUT_S,
): Promise<FileResult> {
  const started = performance.now();
  const proc = Bun.spawn(["bun", "test", "--timeout", String(timeoutMs), `./${file}`], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill(9);
  }, fileTimeoutS * 1000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const usage = proc.resourceUsage();
  const text = `${out}\n${err}${timedOut ? `\n(fail) ${file}: still running after ${fileTimeoutS} s, killed` : ""}`;
  const passed = count(text, "pass");
  const failed = count(text, "fail");
  const skipped = count(text, "skip");
  const ok = !timedOut && proc.exitCode === 0 && failed === 0 && passed + skipped > 0;
  return {
    file,
    ok,
    exitCode: proc.exitCode,
    passed,
    failed,
    skipped,
    wallS: Math.round(performance.now() - started) / 1000,
    cpuS: usage ? Math.round(Number(usage.cpuTime.user + usage.cpuTime.system) / 1000) / 1000 : 0,
    ...(ok ? {} : { tail: text.trim().split("\n").slice(-FAILED_OUTPUT_LINES).join("\n") }),
  };
}

/** How much of a failing file's output is kept (its end): enough for every failure of a file. */
const FAILED_OUTPUT_LINES = 2_000;

/**
 * `files` with the slowest first by a `bun test --timings` file, so the longest files do not start
 * last and leave one worker running alone; files it does not list (new ones) go first.
 */
export function slowestFirst(files: readonly string[], timings: { files: Record<string, number> }): string[] {
  const wall = (f: string): number => timings.files[f] ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => wall(b) - wall(a) || a.localeCompare(b));
}

/** `bun test --timings` form: `{ version: 1, files: { path: ms } }`, paths from the root, sorted. */
export function bunTimings(results: readonly FileResult[]): { version: 1; files: Record<string, number> } {
  const files: Record<string, number> = {};
  for (const r of [...results].sort((a, b) => a.file.localeCompare(b.file)))
    files[r.file] = Math.round(r.wallS * 1000);
  return { version: 1, files };
}

/** Runs `files` alone, `jobs` at a time, reporting each as it ends. */
export async function runEach(
  files: readonly string[],
  jobs: number,
  onResult: (r: FileResult) => void = () => undefined,
  root = ROOT,
): Promise<FileResult[]> {
  const results: FileResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      const r = await runAlone(files[i] as string, root);
      results.push(r);
      onResult(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return results.sort((a, b) => b.wallS - a.wallS);
}

const USAGE = `usage: bun run test:alone [--jobs N] [--slowest-first FILE] [--json FILE] [--timings FILE] [FILE…]
  Runs every test file (or the given ones) alone, in its own \`bun test\` process.
  --jobs N                files at a time (default 1)
  --slowest-first FILE    start the files in the order of their wall times in FILE (slowest first)
  --json FILE             write each file's result, wall and CPU time
  --timings FILE          write the wall times in \`bun test --timings\` form (test-timings.json)`;

if (import.meta.main) {
  const { jobs, json, timings, order, positionals } = commandLineOrExit(
    "test:alone",
    USAGE,
    process.argv.slice(2),
    (argv) => {
      const { values, positionals } = parseCommandLine(
        argv,
        {
          jobs: { type: "string" },
          json: { type: "string" },
          timings: { type: "string" },
          "slowest-first": { type: "string" },
        },
        true,
      );
      const jobs = Number(values.jobs ?? 1);
      if (!Number.isInteger(jobs) || jobs < 1)
        throw new UsageError(`--jobs must be a positive integer, not ${values.jobs}`);
      const order = values["slowest-first"];
      if (order !== undefined && !existsSync(order))
        throw new UsageError(`--slowest-first: no file ${order} (a \`bun test --timings\` file)`);
      return { jobs, json: values.json, timings: values.timings, order, positionals };
    },
  );
  const all = positionals.length > 0 ? positionals.map((f) => relative(ROOT, resolve(f))) : testFiles();
  const files = order ? slowestFirst(all, JSON.parse(readFileSync(order, "utf8"))) : all;
  const started = performance.now();
  // Up once before the files start, so two files' preloads never both start a stopped stack.
  if (process.env.TRIBUTARY_TEST_STACK !== "off") await stackUp({ say: (line) => console.error(line) });
  const results = await runEach(files, jobs, (r) =>
    console.error(
      `${r.ok ? "ok  " : "FAIL"} ${r.wallS.toFixed(1).padStart(6)} s wall ${r.cpuS.toFixed(1).padStart(6)} s cpu  ${r.passed} pass ${r.failed} fail${r.skipped > 0 ? ` ${r.skipped} skip` : ""}  ${r.file}`,
    ),
  );
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) console.error(`\n---- ${r.file} (exit ${r.exitCode})\n${r.tail}`);
  if (json) await Bun.write(json, `${JSON.stringify(results, null, 2)}\n`);
  if (timings) await Bun.write(timings, `${JSON.stringify(bunTimings(results), null, 2)}\n`);
  const wall = ((performance.now() - started) / 1000).toFixed(0);
  const total = (k: "passed" | "skipped") => results.reduce((n, r) => n + r[k], 0);
  // A file that failed outside its tests (did not load, timed out) counts as one failure.
  const failures = results.reduce((n, r) => n + (r.ok ? r.failed : Math.max(1, r.failed)), 0);
  console.log(` ${total("passed")} pass\n ${total("skipped")} skip\n ${failures} fail`);
  console.log(
    `${results.length - failed.length} files passed alone, ${failed.length} failed (${wall} s, ${jobs} at a time)`,
  );
  process.exit(failed.length === 0 ? 0 : 1);
}
