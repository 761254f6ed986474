/**
 * A notebook records the Iceberg snapshot of each table it read, and `bun run notebooks --as-of` runs
 * it again on exactly those (or on the snapshots current at a time). The lake is built by the real
 * silver job in two runs; what the notebook reads is checked against what a plain DuckDB read of the
 * Hive tree saw right after each run, before the next run replaced those files.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runSilverTrades } from "@tributary/lake/silver/trades";
import { commitBronze, sequentialTrades } from "@tributary/lake/testing/bronze-fixture";
import { createTempLake, type TempLake } from "@tributary/lake/testing/temp-lake";
import { EmbeddedCatalog } from "@tributary/shared/lake/iceberg/catalog";
import { currentSnapshot } from "@tributary/shared/lake/iceberg/metadata";
import { runNotebooks } from "../runner/run-notebooks.ts";
import type { LakeAsOf } from "./lake.ts";

const KIT = resolve(import.meta.dir, "index.ts");
const CONFIG = resolve(import.meta.dir, "../../../../shared/src/config.ts");
const CLI = resolve(import.meta.dir, "../cli.ts");

let lake: TempLake;
let dir: string;
let notebook: string;
/** Plain DuckDB over the Hive tree after each silver run: "<count> <exact price sum>". */
const hive: string[] = [];
/** Silver's snapshot id after each run, from the table's own metadata. */
const ids: string[] = [];
let between = 0;

async function silverRun(from: number, n: number): Promise<void> {
  await commitBronze(lake.commitLog, sequentialTrades(from, n));
  await runSilverTrades(lake.env);
  const [r] = await lake.query(
    `SELECT count(*)::VARCHAR || ' ' || sum(price)::VARCHAR AS v FROM ${lake.scan("silver", "kraken_trades")}`,
  );
  hive.push(String(r?.v));
  const loaded = await new EmbeddedCatalog(lake.store).load({ namespace: "silver", name: "kraken_trades" });
  ids.push(String(loaded && currentSnapshot(loaded.metadata)?.["snapshot-id"]));
}

interface Run {
  readonly printed: string;
  readonly tributary: { snapshots?: Record<string, string>; as_of?: unknown; ok: boolean };
}

function readRun(ipynb: string): Run {
  const nb = JSON.parse(readFileSync(ipynb, "utf8")) as {
    metadata: { tributary: Run["tributary"] };
    cells: { outputs?: { text?: string[] }[] }[];
  };
  const printed = nb.cells
    .flatMap((c) => c.outputs ?? [])
    .flatMap((o) => o.text ?? [])
    .join("");
  return { printed: printed.trim(), tributary: nb.metadata.tributary };
}

async function run(out: string, extra: { readonly asOf?: LakeAsOf } = {}) {
  const result = await runNotebooks({
    names: [notebook],
    outDir: join(dir, out),
    env: { ...process.env, LAKE_URI: lake.root },
    timeoutMs: 60_000,
    ...extra,
  });
  return {
    ok: result.ok,
    errors: result.notebooks[0]?.errors ?? [],
    ...readRun(join(dir, out, "count.ipynb")),
  };
}

beforeAll(async () => {
  lake = createTempLake();
  dir = mkdtempSync(join(tmpdir(), "notebook-as-of-"));
  notebook = join(dir, "count.ts");
  writeFileSync(
    notebook,
    [
      "// %%",
      `import { loadConfig } from "${CONFIG}";`,
      `import { openLake } from "${KIT}";`,
      "await using lake = await openLake(loadConfig());",
      'const [r] = await lake.query("SELECT count(*)::VARCHAR AS n, sum(price)::VARCHAR AS s FROM silver.kraken_trades");',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: notebook source text
      "console.log(`${r?.n} ${r?.s}`);",
      "",
    ].join("\n"),
  );
  await silverRun(1, 30);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  lake?.cleanup();
});

test("each run records the snapshot it read; --as-of <run.ipynb> reads exactly it again after silver moved on", async () => {
  const first = await run("run1");
  expect(first.ok).toBe(true);
  expect(first.printed).toBe(hive[0] as string);
  expect(first.tributary.snapshots?.["silver.kraken_trades"]).toBe(ids[0] as string);
  // Bronze here has no table (written from the commit log alone): read from its Hive tree, said so.
  expect(first.tributary.snapshots?.["bronze.kraken_trades"]).toBe("hive");

  await Bun.sleep(20);
  between = Date.now();
  await Bun.sleep(20);
  await silverRun(31, 20);
  expect(hive[1]).not.toBe(hive[0] as string);
  const second = await run("run2");
  expect(second.printed).toBe(hive[1] as string);
  expect(second.tributary.snapshots?.["silver.kraken_trades"]).toBe(ids[1] as string);

  // The CLI, as a user re-runs an analysis on yesterday's data.
  const out = join(dir, "run3");
  const proc = Bun.spawnSync(
    ["bun", CLI, notebook, "--as-of", join(dir, "run1", "count.ipynb"), "--out", out, "--lake", lake.root],
    { stdout: "pipe", stderr: "pipe" },
  );
  expect(proc.exitCode, proc.stderr.toString()).toBe(0);
  const again = readRun(join(out, "count.ipynb"));
  expect(again.printed).toBe(hive[0] as string);
  expect(again.tributary.snapshots?.["silver.kraken_trades"]).toBe(ids[0] as string);
  expect(again.tributary.as_of).toEqual({ kind: "snapshots", tables: first.tributary.snapshots });
}, 120_000);

test("--as-of a time reads the snapshots current then", async () => {
  expect(between).toBeGreaterThan(0);
  const then = await run("at-time", { asOf: { kind: "time", ms: between } });
  expect(then.printed).toBe(hive[0] as string);
  expect(then.tributary.snapshots?.["silver.kraken_trades"]).toBe(ids[0] as string);
}, 60_000);

test("a recorded snapshot the table no longer holds, and bad --as-of values, are errors naming what is wrong", async () => {
  const gone = await run("gone", {
    asOf: { kind: "snapshots", tables: { "silver.kraken_trades": "12345" } },
  });
  expect(gone.ok).toBe(false);
  expect(gone.errors.join("\n")).toMatch(/silver\.kraken_trades: snapshot 12345 is not in the table/);
  for (const [arg, message] of [
    ["yesterday", '--as-of "yesterday": expected an RFC 3339 time'],
    [join(dir, "missing.ipynb"), "missing.ipynb: no such file"],
  ] as const) {
    const proc = Bun.spawnSync(["bun", CLI, notebook, "--as-of", arg, "--lake", lake.root], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(proc.exitCode).toBe(2);
    expect(proc.stderr.toString()).toContain(message);
  }
}, 60_000);
