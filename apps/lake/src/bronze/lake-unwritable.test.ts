/**
 * A lake that cannot be written fails the bronze writer at start, naming LAKE_URI, its value and the
 * cause, instead of retrying every flush forever: a path under a regular file, a missing S3 bucket (on
 * the stack's S3Proxy), a place the process may not write (`/proc`). `bun run lake` prints it in one line.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Config, loadConfig } from "@tributary/shared/config";
import { LakeUnwritableError } from "@tributary/shared/lake/store";
import { uniqueName } from "@tributary/shared/testing/names";
import { routedDataset } from "./datasets.ts";
import { startBronzeWriter } from "./writer.ts";

const base = loadConfig();
const scratch = mkdtempSync(join(tmpdir(), "bronze-unwritable-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const withLake = (uri: string): Config => ({ ...base, lake: { ...base.lake, uri } });

function underAFile(): string {
  const file = join(scratch, "a-file");
  writeFileSync(file, "not a directory\n");
  return join(file, "lake");
}

const cases: Array<[string, () => string, RegExp]> = [
  ["a path under a regular file", underAFile, /ENOTDIR|not a directory/i],
  [
    "a missing S3 bucket",
    () => `s3://${uniqueName("nobucket").replace(/_/g, "-").toLowerCase()}/lake`,
    /bucket/i,
  ],
  ["a /proc path", () => "/proc/tributary-lake", /EACCES|ENOENT|EROFS|denied|no such file|read-only/i],
];

for (const [name, uri, cause] of cases) {
  test(`${name}: the writer refuses to start, naming LAKE_URI and the cause`, async () => {
    const lake = uri();
    const topic = uniqueName("never_consumed");
    const routes = new Map([[topic, routedDataset(topic, "kraken_trades", "kraken")]]);
    const err = await startBronzeWriter(withLake(lake), { topics: [topic], routes, metricsPort: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LakeUnwritableError);
    const message = (err as Error).message;
    expect(message).toStartWith(`LAKE_URI=${lake} cannot be written: `);
    expect(message).toMatch(cause);
  }, 30_000);
}

test("`bun run lake --jobs bronze` with such a LAKE_URI exits 1 with that one line", async () => {
  const lake = underAFile();
  const child = Bun.spawn([process.execPath, resolve(import.meta.dir, "../cli.ts"), "--jobs", "bronze"], {
    env: { ...process.env, LAKE_URI: lake },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await child.exited).toBe(1);
  const stderr = await new Response(child.stderr).text();
  expect(stderr.split("\n").some((l) => l.startsWith(`LAKE_URI=${lake} cannot be written: ENOTDIR`))).toBe(
    true,
  );
}, 60_000);
