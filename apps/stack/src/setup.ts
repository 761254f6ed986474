/**
 * `bun run setup`: everything a fresh machine needs after Bun itself. Checks the system tools
 * (Java, Maven, PostgreSQL binaries, Chromium for browser tests, Jupyter's client and server as the
 * notebook kernel's counterparts), installs missing Debian packages
 * when running as root, extracts promtool for the metrics tests, resolves the Maven artifacts once
 * (also Kafka Connect + Debezium for the optional `debezium` service and the differential tests),
 * and brings the local stack up.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { commandLineOrExit, parseCommandLine } from "@tributary/shared/cli";
import { loadConfig } from "@tributary/shared/config";
import { promtoolInstallPath } from "@tributary/shared/testing/promtool";
import { resolveClasspath } from "./maven.ts";
import { which } from "./proc.ts";
import { icebergRestClasspath } from "./services/iceberg-rest.ts";
import { stackUp } from "./stack.ts";
import { sparkClasspath } from "./testing/spark.ts";

const USAGE = `usage: bun run setup
  bun install --frozen-lockfile, then the system tools (Java, Maven, PostgreSQL binaries, Chromium;
  installed from Debian when run as root), promtool, the Maven artifacts, and \`bun run stack up\`.`;
commandLineOrExit("setup", USAGE, process.argv.slice(2), (argv) => parseCommandLine(argv, {}));

const needs: { bin: string; pkg: string; why: string }[] = [
  { bin: "java", pkg: "openjdk-17-jre-headless", why: "Kafka and S3Proxy run on the JVM" },
  { bin: "mvn", pkg: "maven", why: "Kafka and S3Proxy come from Maven Central" },
  { bin: "pg_ctl", pkg: "postgresql", why: "the stack's PostgreSQL cluster (CDC)" },
  { bin: "chromium", pkg: "chromium", why: "browser tests and notebook screenshots" },
  { bin: "jupyter-execute", pkg: "python3-nbclient", why: "notebooks run through the Bun kernel (nbclient)" },
  {
    bin: "jupyter-notebook",
    pkg: "jupyter-notebook",
    why: "the kernel's browser test (Jupyter's own server)",
  },
];

function hasPostgres(): boolean {
  return Boolean(
    which("pg_ctl") ||
      which("pg_config") ||
      Bun.spawnSync(["sh", "-c", "ls /usr/lib/postgresql/*/bin/pg_ctl"]).exitCode === 0,
  );
}

const missing = needs.filter((n) => (n.bin === "pg_ctl" ? !hasPostgres() : !which(n.bin)));
if (missing.length > 0) {
  if (process.getuid?.() === 0 && which("apt-get")) {
    console.error(`setup: installing ${missing.map((m) => m.pkg).join(", ")} from Debian`);
    const update = Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
    const install = Bun.spawnSync(["apt-get", "install", "-y", "-qq", ...missing.map((m) => m.pkg)], {
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (update.exitCode !== 0 || install.exitCode !== 0) {
      console.error("setup: apt-get failed; install these yourself and run `bun run setup` again");
      process.exit(1);
    }
  } else {
    for (const m of missing)
      console.error(`setup: missing ${m.bin} (${m.why}): install the Debian package ${m.pkg}`);
    process.exit(1);
  }
}

// The optional Debezium worker is not started here, but its jars are fetched so tests can run it offline.
const config = loadConfig();
await resolveClasspath({
  profile: "debezium",
  property: "kafka.version",
  version: config.stack.kafkaVersion,
  cacheDir: join(config.stateDir, "maven"),
});
// Spark with Iceberg's runtime (the lake's independent reader in tests) and Iceberg's REST catalog.
await sparkClasspath(config.stateDir);
await icebergRestClasspath(config.stateDir);

/**
 * promtool, Prometheus's exposition checker that the `/metrics` tests run: taken out of Debian's
 * `prometheus` package without installing it (that would also install and start a Prometheus server).
 */
function ensurePromtool(stateDir: string): void {
  const target = promtoolInstallPath(stateDir);
  if (which("promtool") || existsSync(target)) return;
  if (process.getuid?.() !== 0 || !which("apt-get")) {
    console.error("setup: missing promtool (metrics tests): install the Debian package prometheus");
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), "tributary-promtool-"));
  try {
    const download = () =>
      Bun.spawnSync(["apt-get", "download", "-qq", "prometheus"], { cwd: work, stderr: "pipe" }).exitCode ===
      0;
    if (!download()) {
      Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
      if (!download()) {
        console.error("setup: apt-get download prometheus failed; install the Debian package prometheus");
        process.exit(1);
      }
    }
    const deb = readdirSync(work).find((f) => f.endsWith(".deb")) as string;
    Bun.spawnSync(["dpkg-deb", "-x", join(work, deb), join(work, "x")]);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(work, "x", "usr", "bin", "promtool"), target);
    console.error(`setup: promtool from Debian's ${deb} at ${target}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

ensurePromtool(config.stateDir);

const statuses = await stackUp();
for (const s of statuses) console.log(`${s.state === "up" ? "✔" : "✖"} ${s.name} ${s.state} ${s.endpoint}`);
process.exit(statuses.every((s) => s.state === "up") ? 0 : 1);
