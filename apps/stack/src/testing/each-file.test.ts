import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bunTimings, runAlone, runEach, slowestFirst, testFiles } from "./each-file.ts";

const scratch = mkdtempSync(join(tmpdir(), "tributary-each-file-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("each file runs in its own bun test process; a failing file is reported with its output", async () => {
  writeFileSync(join(scratch, "good.test.ts"), 'import { test } from "bun:test";\ntest("ok", () => {});\n');
  writeFileSync(
    join(scratch, "bad.test.ts"),
    'import { expect, test } from "bun:test";\ntest("ok", () => {});\ntest("no", () => expect(1).toBe(2));\n',
  );
  // A file whose tests are all skipped (a soak-only file) passes; one with no test at all does not.
  writeFileSync(
    join(scratch, "skipped.test.ts"),
    'import { test } from "bun:test";\ntest.skip("later", () => {});\n',
  );
  writeFileSync(join(scratch, "empty.test.ts"), 'import "bun:test";\n');
  const files = ["good.test.ts", "bad.test.ts", "skipped.test.ts", "empty.test.ts"];
  const results = await runEach(files, 2, undefined, scratch);
  const byFile = Object.fromEntries(results.map((r) => [r.file, r]));
  expect(byFile["good.test.ts"]).toMatchObject({ ok: true, passed: 1, failed: 0, exitCode: 0 });
  expect(byFile["skipped.test.ts"]).toMatchObject({ ok: true, passed: 0, skipped: 1, exitCode: 0 });
  expect(byFile["empty.test.ts"]).toMatchObject({ ok: false, passed: 0, skipped: 0 });
  expect(byFile["bad.test.ts"]).toMatchObject({ ok: false, passed: 1, failed: 1, exitCode: 1 });
  expect(byFile["bad.test.ts"]?.tail).toContain("expect(received).toBe(expected)");
});

test("`bun run test:alone FILE` runs that file alone and ends with one summary line", () => {
  const root = resolve(import.meta.dir, "../../../..");
  expect(testFiles(root)).toContain("apps/stack/src/testing/each-file.test.ts");
  const proc = Bun.spawnSync(["bun", "run", "test:alone", "shared/src/testing/random.test.ts"], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_TEST_STACK: "off" },
  });
  expect(proc.stdout.toString()).toContain("1 files passed alone, 0 failed");
  expect(proc.exitCode).toBe(0);
}, 60_000);

test("--timings writes what `bun test --timings` reads; the committed test-timings.json names only test files that exist", async () => {
  writeFileSync(
    join(scratch, "slow.test.ts"),
    'import { test } from "bun:test";\ntest("s", () => Bun.sleep(50));\n',
  );
  const results = await runEach(["slow.test.ts"], 1, undefined, scratch);
  const timings = bunTimings(results);
  expect(timings.files["slow.test.ts"]).toBeGreaterThanOrEqual(50);
  writeFileSync(join(scratch, "timings.json"), JSON.stringify(timings));
  const proc = Bun.spawnSync(["bun", "test", "--parallel=2", "--timings=timings.json", "./slow.test.ts"], {
    cwd: scratch,
    env: { ...process.env, TRIBUTARY_TEST_STACK: "off" },
  });
  expect(proc.stderr.toString()).toContain("1 pass");
  expect(proc.exitCode).toBe(0);

  const root = resolve(import.meta.dir, "../../../..");
  const committed = JSON.parse(readFileSync(join(root, "test-timings.json"), "utf8")) as {
    version: number;
    files: Record<string, number>;
  };
  expect(committed.version).toBe(1);
  const stale = Object.keys(committed.files).filter((f) => !testFiles(root).includes(f));
  expect(stale).toEqual([]);
}, 60_000);

test("a file still running after its time limit is killed and fails, saying so", async () => {
  writeFileSync(
    join(scratch, "hang.test.ts"),
    'import { test } from "bun:test";\ntest("h", () => Bun.sleep(30_000), 60_000);\n',
  );
  const r = await runAlone("hang.test.ts", scratch, 120_000, 2);
  expect(r).toMatchObject({ ok: false, passed: 0 });
  expect(r.wallS).toBeLessThan(20);
  expect(r.tail).toContain("hang.test.ts: still running after 2 s, killed");
});

test("slowest first: by the timings file, files it does not list first", () => {
  const timings = { files: { "a.test.ts": 5, "b.test.ts": 90, "c.test.ts": 30 } };
  expect(slowestFirst(["a.test.ts", "b.test.ts", "c.test.ts", "new.test.ts"], timings)).toEqual([
    "new.test.ts",
    "b.test.ts",
    "c.test.ts",
    "a.test.ts",
  ]);
});
