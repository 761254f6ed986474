/**
 * Hostile input: every query and path below must be refused with HTTP 400 (413 for an oversized
 * body) and a message that says why, and must change nothing — no file in or out of the lake, no
 * setting, no view.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { createLogger } from "@tributary/shared/log";
import { type RunningConsole, startConsole } from "../server.ts";
import { createLakeFixture, type LakeFixture } from "../testing/lake-fixture.ts";
import { BindError, checkBind, SESSION_COOKIE } from "./auth.ts";

let lake: LakeFixture;
let consoleApp: RunningConsole;
let scratch: string;
let outside: string;
const quiet = createLogger("console-test", "error", () => {});

function configFor(extra: Record<string, string> = {}) {
  return loadConfig({
    ...process.env,
    LAKE_URI: lake.root,
    TRIBUTARY_STATE_DIR: join(scratch, "state"),
    CONSOLE_SOURCES: "none",
    CONSOLE_REFRESH_MS: "1000",
    CONSOLE_QUERY_TIMEOUT_MS: "1500",
    CONSOLE_QUERY_ROW_LIMIT: "100",
    CONSOLE_NOTEBOOKS_DIR: join(scratch, "notebooks"),
    ...extra,
  });
}

beforeAll(async () => {
  lake = await createLakeFixture({ hours: 2 });
  scratch = mkdtempSync(join(tmpdir(), "console-sec-"));
  outside = mkdtempSync(join(tmpdir(), "console-outside-"));
  // Something outside the lake that a query might try to reach: a Parquet file and a link to it.
  mkdirSync(join(scratch, "notebooks"), { recursive: true });
  writeFileSync(join(scratch, "notebooks", "ok.html"), "<h1>fine</h1>");
  symlinkSync("/etc/passwd", join(scratch, "notebooks", "evil.html"));
  await Bun.write(join(outside, "secret.parquet"), "not really parquet");
  mkdirSync(join(lake.root, "silver", "linked"), { recursive: true });
  symlinkSync(outside, join(lake.root, "silver", "linked", "escape"));
  consoleApp = await startConsole(configFor(), { port: 0, log: quiet });
}, 60_000);

afterAll(async () => {
  await consoleApp?.stop();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  rmSync(lake.root, { recursive: true, force: true });
});

const query = (sql: string, init: RequestInit = {}) =>
  consoleApp.app.request("/api/query", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sql }),
    ...init,
  });

/** [hostile SQL, a fragment the refusal must contain]. `{lake}` is the lake root. */
const HOSTILE_SQL: readonly (readonly [string, string])[] = [
  ["COPY (SELECT 1) TO '/tmp/tributary-evil.csv'", "COPY is not allowed"],
  ["COPY silver.kraken_trades TO '{lake}/silver/kraken_trades/evil.parquet'", "COPY is not allowed"],
  ["copy (select 1) to '{lake}/bronze/evil.csv' (header)", "COPY is not allowed"],
  ["ATTACH '/tmp/tributary-evil.db' AS evil", "ATTACH is not allowed"],
  ["ATTACH '{lake}/bronze/evil.db'", "ATTACH is not allowed"],
  ["DETACH memory", "DETACH is not allowed"],
  ["INSTALL httpfs", "INSTALL is not allowed"],
  ["FORCE INSTALL httpfs", "FORCE is not allowed"],
  ["LOAD httpfs", "LOAD is not allowed"],
  ["PRAGMA version", "PRAGMA is not allowed"],
  ["PRAGMA enable_profiling", "PRAGMA is not allowed"],
  ["SET enable_external_access = true", "SET is not allowed"],
  ["SET allowed_directories = ['/']", "SET is not allowed"],
  ["SET GLOBAL threads = 64", "SET is not allowed"],
  ["RESET lock_configuration", "RESET is not allowed"],
  ["CALL pragma_version()", "CALL is not allowed"],
  ["EXPORT DATABASE '/tmp/tributary-evil-export'", "EXPORT is not allowed"],
  ["IMPORT DATABASE '/tmp/tributary-evil-export'", "IMPORT is not allowed"],
  ["CREATE TABLE t AS SELECT 1", "CREATE is not allowed"],
  ["CREATE VIEW v AS SELECT 1", "CREATE is not allowed"],
  ["CREATE MACRO m() AS 1", "CREATE is not allowed"],
  ["CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE is not allowed"],
  ["INSERT INTO silver.kraken_trades SELECT * FROM silver.kraken_trades", "INSERT is not allowed"],
  ["UPDATE silver.kraken_trades SET qty = 0", "UPDATE is not allowed"],
  ["DELETE FROM silver.kraken_trades", "DELETE is not allowed"],
  ["DROP VIEW bronze.kraken_trades", "DROP is not allowed"],
  ["ALTER VIEW bronze.kraken_trades RENAME TO x", "ALTER is not allowed"],
  ["TRUNCATE silver.kraken_trades", "TRUNCATE is not allowed"],
  ["VACUUM", "VACUUM is not allowed"],
  ["CHECKPOINT", "CHECKPOINT is not allowed"],
  ["BEGIN TRANSACTION", "BEGIN is not allowed"],
  ["USE bronze", "USE is not allowed"],
  ["PREPARE p AS SELECT 1", "PREPARE is not allowed"],
  ["SELECT 1; DROP VIEW silver.kraken_trades", "exactly one statement"],
  ["SELECT 1; SELECT 2", "exactly one statement"],
  ["SELECT 1 /* harmless */; COPY (SELECT 1) TO '/tmp/tributary-evil2.csv'", "exactly one statement"],
  ["EXPLAIN ANALYZE SELECT 1", "EXPLAIN is not allowed"],
  ["EXPLAIN SELECT * FROM silver.kraken_trades", "runs one read-only SELECT"],
  ["SELECT * FROM read_csv('/etc/passwd')", 'read_csv(): path "/etc/passwd" is outside the lake'],
  ["SELECT * FROM read_csv_auto('/etc/passwd')", 'read_csv_auto(): path "/etc/passwd" is outside the lake'],
  ["SELECT * FROM read_text('/etc/passwd')", 'read_text(): path "/etc/passwd" is outside the lake'],
  ["SeLeCt * FrOm ReAd_TeXt('/etc/passwd')", 'read_text(): path "/etc/passwd" is outside the lake'],
  ["SELECT * FROM read_blob('/etc/shadow')", 'read_blob(): path "/etc/shadow" is outside the lake'],
  ["SELECT * FROM read_json('/etc/hosts')", 'read_json(): path "/etc/hosts" is outside the lake'],
  ["SELECT * FROM sniff_csv('/etc/passwd')", 'sniff_csv(): path "/etc/passwd" is outside the lake'],
  ["SELECT * FROM sqlite_scan('/tmp/x.db', 't')", 'sqlite_scan(): path "/tmp/x.db" is outside the lake'],
  ["SUMMARIZE SELECT * FROM read_text('/etc/passwd')", 'read_text(): path "/etc/passwd" is outside the lake'],
  [
    "SELECT * FROM silver.kraken_trades, read_csv('/etc/passwd')",
    'read_csv(): path "/etc/passwd" is outside the lake',
  ],
  ["SELECT * FROM '/etc/passwd'", "outside the lake"],
  ["SELECT * FROM 'state/stack.env'", "outside the lake"],
  ["SELECT * FROM read_parquet('/etc/x.parquet')", "outside the lake"],
  ["SELECT * FROM read_parquet('{lake}/../outside.parquet')", "outside the lake"],
  ["SELECT * FROM read_parquet('{lake}/bronze/../../etc/passwd')", "outside the lake"],
  ["SELECT * FROM read_parquet('{lake}-evil/bronze/x.parquet')", "outside the lake"],
  ["SELECT * FROM read_parquet('{lake}/_tributary/commits/x.parquet')", "outside the lake"],
  ["SELECT * FROM read_parquet('{lake}/silver/linked/escape/secret.parquet')", "through a link"],
  ["SELECT * FROM read_parquet('{lake}/bronze/kraken_trades/**/*.csv')", "not a Parquet file"],
  [
    "SELECT * FROM read_parquet(['{lake}/silver/kraken_trades/**/*.parquet', '/etc/x.parquet'])",
    "outside the lake",
  ],
  ["SELECT * FROM read_parquet('{lake}/bronze/' || '../x.parquet')", "must be string literals"],
  ["SELECT * FROM glob('/*')", "outside the lake"],
  ["SELECT * FROM read_parquet('http://127.0.0.1:1/x.parquet')", "only files inside the lake"],
  ["SELECT * FROM read_parquet('s3://tributary/x.parquet')", "only files inside the lake"],
  ["SELECT getenv('HOME')", "getenv() is not allowed"],
  ["SELECT * FROM query('SELECT 1')", "query() is not allowed"],
  ["SELECT * FROM query_table('silver.kraken_trades')", "query_table() is not allowed"],
  ["SELECT current_setting('allowed_directories')", "current_setting() is not allowed"],
  ["SELECT * FROM pg_catalog.pg_settings", "the catalog view pg_settings is not allowed"],
  ["SELECT name, value FROM pg_settings WHERE name = 'temp_directory'", "pg_settings is not allowed"],
  ["SELECT * FROM duckdb_temporary_files()", "duckdb_temporary_files() is not allowed"],
  ["SELECT * FROM duckdb_extensions()", "duckdb_extensions() is not allowed"],
  ["SELECT * FROM duckdb_settings()", "duckdb_settings() is not allowed"],
  ["SELECT * FROM duckdb_secrets()", "duckdb_secrets() is not allowed"],
  ["SELECT setseed(0.5)", "setseed() is not allowed"],
  ["SELECT load_aws_credentials()", "load_aws_credentials() is not allowed"],
  [
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
    "longer than the limit of 1500 ms",
  ],
  ["SELECT $1", "parameters"],
  ["SELEC 1", "does not parse"],
  ["", "the query is empty"],
  [`SELECT '${"x".repeat(20_001)}'`, "the limit is 20000"],
  ["SELECT 1\u0000", "NUL character"],
];

/** [path, expected status, a fragment of the message]. */
const HOSTILE_PATHS: readonly (readonly [string, number, string])[] = [
  ["/lake/bronze/..%2F..%2Fetc", 400, "not a valid name"],
  ["/api/lake/bronze/..%2F_tributary", 400, "not a valid name"],
  ["/lake/platinum/trades", 400, "is not one of bronze, silver, gold"],
  ["/api/lake/bronze/.hidden", 400, "not a valid name"],
  ["/api/lake/bronze/%2e%2e", 404, "no route"],
  ["/api/lake/bronze/no_such_dataset", 404, "no dataset bronze/no_such_dataset"],
  ["/notebooks/files/..%2F..%2Fetc%2Fpasswd", 400, "not a valid name"],
  ["/notebooks/files/%2Fetc%2Fpasswd", 400, "not a valid name"],
  ["/notebooks/files/index.json", 400, "not a valid name"],
  ["/notebooks/files/evil.html", 400, "leads outside its root through a link"],
  ["/notebooks/files/ok.html%00.txt", 400, "not a valid name"],
  ["/api/jobs/runs?job=..%2F..%2Fx", 400, "expected a job name"],
  ["/api/jobs/runs?limit=100000000", 400, "expected 1 to 1000"],
];

describe("the SQL box refuses hostile queries and changes nothing", () => {
  test(`${HOSTILE_SQL.length} hostile queries get HTTP 400 with a clear reason`, async () => {
    expect(HOSTILE_SQL.length + HOSTILE_PATHS.length).toBeGreaterThanOrEqual(50);
    const before = lake.snapshot();
    const wrong: string[] = [];
    for (const [template, reason] of HOSTILE_SQL) {
      const sql = template.replaceAll("{lake}", lake.root);
      const res = await query(sql);
      const body = (await res.json()) as { error?: string };
      if (res.status !== 400 || !(body.error ?? "").includes(reason))
        wrong.push(`${sql.slice(0, 80)} → ${res.status} ${body.error ?? ""} (expected 400 with "${reason}")`);
    }
    expect(wrong).toEqual([]);
    expect(lake.snapshot()).toEqual(before);
    for (const f of [
      "/tmp/tributary-evil.csv",
      "/tmp/tributary-evil2.csv",
      "/tmp/tributary-evil.db",
      "/tmp/tributary-evil-export",
    ]) {
      expect(existsSync(f)).toBe(false);
    }
  });

  test("after the attacks the engine is still locked down and every view is intact", async () => {
    const settings = await query("SELECT count(*) AS n FROM duckdb_views() WHERE NOT internal");
    expect(settings.status).toBe(200);
    const views = ((await settings.json()) as { rows: string[][] }).rows[0]?.[0];
    // Every dataset of the fixture, each twice.
    expect(views).toBe(String(lake.datasets().length * 2));
    const rows = await query("SELECT count(*) FROM silver.kraken_trades");
    expect(((await rows.json()) as { rows: string[][] }).rows).toEqual([["1200"]]);
  });

  test("the engine's settings cannot be changed, even by SQL that slips past the guard", async () => {
    const { QueryEngine } = await import("../sql/engine.ts");
    const engine = await QueryEngine.create({ lakeRoot: lake.root });
    try {
      await expect(
        engine.internal("SET enable_external_access = true", { rowLimit: 1, timeoutMs: 1000 }),
      ).rejects.toThrow("the configuration has been locked");
      await expect(
        engine.internal("SELECT * FROM read_text('/etc/passwd')", { rowLimit: 1, timeoutMs: 1000 }),
      ).rejects.toThrow("file system operations are disabled");
      const r = await engine.internal(
        "SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR",
        { rowLimit: 1, timeoutMs: 1000 },
      );
      expect(r.rows[0]).toEqual(["false", "true"]);
    } finally {
      engine.close();
    }
  });

  test("queries over the lake still work, with the row limit applied", async () => {
    const res = await query("SELECT * FROM bronze.kraken_trades");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: unknown[]; truncated: boolean };
    expect(body.rows.length).toBe(100);
    expect(body.truncated).toBe(true);
    const direct = await query(
      `SELECT count(*) FROM read_parquet('${lake.root}/silver/kraken_trades/**/*.parquet')`,
    );
    expect(((await direct.json()) as { rows: string[][] }).rows).toEqual([["1200"]]);
  });

  test("malformed and oversized request bodies are refused", async () => {
    const notJson = await consoleApp.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{sql:",
    });
    expect([notJson.status, ((await notJson.json()) as { error: string }).error]).toEqual([
      400,
      "Malformed JSON in request body",
    ]);
    const notString = await consoleApp.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sql: ["SELECT 1"] }),
    });
    expect(notString.status).toBe(400);
    const huge = await consoleApp.app.request("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sql: `SELECT '${"x".repeat(100_000)}'` }),
    });
    expect([huge.status, ((await huge.json()) as { error: string }).error]).toEqual([
      413,
      "request body larger than 65536 bytes",
    ]);
  });
});

describe("paths cannot escape the lake or the notebook directory", () => {
  test(`${HOSTILE_PATHS.length} hostile paths are refused with a reason`, async () => {
    const before = lake.snapshot();
    for (const [path, status, reason] of HOSTILE_PATHS) {
      const res = await consoleApp.app.request(path, { headers: { accept: "application/json" } });
      const text = await res.text();
      expect([path, res.status]).toEqual([path, status]);
      expect([path, text]).toEqual([path, expect.stringContaining(reason)]);
      expect(text).not.toContain("root:x:0:0");
    }
    expect(lake.snapshot()).toEqual(before);
  });

  test("a notebook inside the directory is served, sandboxed with an opaque origin", async () => {
    const res = await consoleApp.app.request("/notebooks/files/ok.html");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toStartWith("sandbox allow-scripts;");
    expect(csp).not.toContain("allow-same-origin");
    expect(csp).toContain("default-src 'none'");
    expect(await res.text()).toBe("<h1>fine</h1>");
  });
});

describe("access control", () => {
  test("a console bound beyond loopback refuses to start without a token", () => {
    expect(() => checkBind("0.0.0.0", undefined)).toThrow(BindError);
    expect(() => checkBind("0.0.0.0", undefined)).toThrow("CONSOLE_TOKEN must be set");
    expect(() => checkBind("0.0.0.0", "short")).toThrow("at least 16 characters");
    expect(() => checkBind("127.0.0.1", undefined)).not.toThrow();
    expect(() => checkBind("0.0.0.0", "a-long-enough-secret-token")).not.toThrow();
  });

  test("with a token every route needs it: bearer for the API, the login cookie for browsers", async () => {
    const token = "test-token-0123456789abcdef";
    const guarded = await startConsole(configFor({ CONSOLE_TOKEN: token }), { port: 0, log: quiet });
    try {
      for (const path of [
        "/",
        "/health",
        "/metrics",
        "/api/overview",
        "/api/lake",
        "/jobs",
        "/partials/overview",
        "/notebooks/files/ok.html",
      ]) {
        const res = await fetch(`${guarded.url}${path}`, {
          redirect: "manual",
          headers: { accept: "application/json" },
        });
        expect([path, res.status]).toEqual([path, 401]);
      }
      const refusedQuery = await fetch(`${guarded.url}/api/query`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer wrong-token-0123456789" },
        body: JSON.stringify({ sql: "SELECT 1" }),
      });
      expect(refusedQuery.status).toBe(401);
      const page = await fetch(`${guarded.url}/`, { redirect: "manual", headers: { accept: "text/html" } });
      expect([page.status, page.headers.get("location")]).toEqual([303, "/login"]);

      const ok = await fetch(`${guarded.url}/api/query`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ sql: "SELECT 42 AS answer" }),
      });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { rows: number[][] }).rows).toEqual([[42]]);

      const badLogin = await fetch(`${guarded.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { Origin: guarded.url },
        body: new URLSearchParams({ token: "nope" }),
      });
      expect(badLogin.status).toBe(400);
      const login = await fetch(`${guarded.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { Origin: guarded.url },
        body: new URLSearchParams({ token }),
      });
      expect(login.status).toBe(303);
      const cookie = login.headers.get("set-cookie") ?? "";
      expect(cookie).toContain(`${SESSION_COOKIE}=`);
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("SameSite=Strict");
      expect(cookie).not.toContain(token);
      const withCookie = await fetch(`${guarded.url}/api/lake`, {
        headers: { cookie: cookie.split(";")[0] ?? "" },
      });
      expect(withCookie.status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  test("a cross-site form post is refused", async () => {
    const res = await consoleApp.app.request("/jobs/scheduler.prune-history/run", {
      method: "POST",
      headers: { Origin: "http://evil.example", "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(res.status).toBe(403);
  });
});
