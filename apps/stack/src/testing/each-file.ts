/**
 * `bun run test:alone [--jobs N] [--json FILE] [FILE…]`: runs every test file (or the given ones) on
 * its own, `bun test FILE` in a fresh process, and reports which pass alone, with wall and CPU time
 * per file: the check that no test depends on another file having run first, and the suite's profile.
 * `--timings FILE` writes the files' wall times in `bun test --timings` form (test-timings.json, which
 * `bun run test` reads to start the slowest files first and balance its workers).
 */
import { relative, resolve } from "node:path";
import { commandLineOrExit, parseCommandLine, UsageError } from "@tributary/shared/cli";

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

export async function runAlone(file: string, root = ROOT, timeoutMs = 120_000): Promise<FileResult> {
  const started = performance.now();
  const proc = Bun.spawn(["bun", "test", "--timeout", String(timeoutMs), `./${file}`], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  const usage = proc.resourceUsage();
  const text = `${out}\n${err}`;
  const passed = count(text, "pass");
  const failed = count(text, "fail");
  const skipped = count(text, "skip");
  const ok = proc.exitCode === 0 && failed === 0 && passed + skipped > 0;
  return {
    file,
    ok,
    exitCode: proc.exitCode,
    passed,
    failed,
    skipped,
    wallS: Math.round(performance.now() - started) / 1000,
    cpuS: usage ? Math.round(Number(usage.cpuTime.user + usage.cpuTime.system) / 1000) / 1000 : 0,
    ...(ok ? {} : { tail: text.trim().split("\n").slice(-40).join("\n") }),
  };
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

const USAGE = `usage: bun run test:alone [--jobs N] [--json FILE] [--timings FILE] [FILE…]
  Runs every test file (or the given ones) alone, in its own \`bun test\` process.
  --jobs N          files at a time (default 1)
  --json FILE       write each file's result, wall and CPU time
  --timings FILE    write the wall times in \`bun test --timings\` form (test-timings.json)`;

if (import.meta.main) {
  const { jobs, json, timings, positionals } = commandLineOrExit(
    "test:alone",
    USAGE,
    process.argv.slice(2),
    (argv) => {
      const { values, positionals } = parseCommandLine(
        argv,
        { jobs: { type: "string" }, json: { type: "string" }, timings: { type: "string" } },
        true,
      );
      const jobs = Number(values.jobs ?? 1);
      if (!Number.isInteger(jobs) || jobs < 1)
        throw new UsageError(`--jobs must be a positive integer, not ${values.jobs}`);
      return { jobs, json: values.json, timings: values.timings, positionals };
    },
  );
  const files = positionals.length > 0 ? positionals.map((f) => relative(ROOT, resolve(f))) : testFiles();
  const started = performance.now();
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
  console.log(
    `${results.length - failed.length} files passed alone, ${failed.length} failed (${wall} s, ${jobs} at a time)`,
  );
  process.exit(failed.length === 0 ? 0 : 1);
}
