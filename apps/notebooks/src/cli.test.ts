import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CLI = resolve(import.meta.dir, "cli.ts");
const dir = mkdtempSync(join(tmpdir(), "tributary-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, CLI, ...args], {
    env: { ...process.env, LAKE_URI: join(dir, "lake") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("bun run notebooks", () => {
  test("exits 0, shows progress per cell and prints a JSON summary when every notebook succeeds", async () => {
    const nb = join(dir, "good.ts");
    writeFileSync(nb, '// %% Hello\nconsole.log("hi");\n// %%\nconsole.log("bye");\n');
    const out = join(dir, "out-good");
    const r = await cli([nb, "--out", out, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("good ▸ [1/2] line 2 Hello");
    expect(r.stderr).toContain("good ✓ [2/2]");
    const summary = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
    expect(summary.ok).toBe(true);
    expect(summary.notebooks[0].name).toBe("good");
    expect(existsSync(join(out, "good.ipynb"))).toBe(true);
    expect(existsSync(join(out, "good.html"))).toBe(true);
  }, 60_000);

  test("a notebook outside the repository imports the kit as a package", async () => {
    const nb = join(dir, "elsewhere.ts");
    writeFileSync(
      nb,
      '// %%\nimport { display, md } from "@tributary/notebooks/kit";\ndisplay(md`from the kit`);\n',
    );
    const out = join(dir, "out-elsewhere");
    const r = await cli([nb, "--out", out]);
    expect(r.stderr).not.toContain("Cannot find module");
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, "elsewhere.ipynb"), "utf8")).toContain("from the kit");
  }, 60_000);

  test("exits 1 when a notebook raises, naming the line", async () => {
    const nb = join(dir, "bad.ts");
    writeFileSync(nb, '// %%\nthrow new Error("nope");\n');
    const r = await cli([nb, "--out", join(dir, "out-bad")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 2: Error: nope");
  }, 60_000);

  test("exits 2 for bad usage or an unknown notebook", async () => {
    expect((await cli(["--timeout", "x"])).code).toBe(2);
    const unknown = await cli(["no-such-notebook", "--out", join(dir, "out-x")]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("known: data-quality, market-overview, microstructure, tesouro");
  }, 60_000);
});

test("a notebook with a broken cell marker fails alone, with an error output, and the others still run", async () => {
  const broken = join(dir, "broken.ts");
  const fine = join(dir, "fine.ts");
  writeFileSync(broken, "// %% [sql]\nselect 1\n");
  writeFileSync(fine, "// %%\nconsole.log(1);\n");
  const out = join(dir, "out-broken");
  const r = await cli([broken, fine, "--out", out, "--json"]);
  expect(r.code).toBe(1);
  const summary = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  expect(summary.notebooks.map((n: { name: string; ok: boolean }) => [n.name, n.ok])).toEqual([
    ["broken", false],
    ["fine", true],
  ]);
  expect(summary.notebooks[0].errors[0]).toContain("unknown cell type [sql]");
  expect(existsSync(join(out, "broken.html"))).toBe(true);
}, 60_000);
