/**
 * `bun run setup`: everything a fresh machine needs after Bun itself. Checks the system tools
 * (Java, Maven, PostgreSQL binaries, Chromium for browser tests), installs missing Debian packages
 * when running as root, resolves the Maven artifacts once, and brings the local stack up.
 */
import { which } from "./proc.ts";
import { stackUp } from "./stack.ts";

const needs: { bin: string; pkg: string; why: string }[] = [
  { bin: "java", pkg: "openjdk-17-jre-headless", why: "Kafka and S3Proxy run on the JVM" },
  { bin: "mvn", pkg: "maven", why: "Kafka and S3Proxy come from Maven Central" },
  { bin: "pg_ctl", pkg: "postgresql", why: "the stack's PostgreSQL cluster (CDC)" },
  { bin: "chromium", pkg: "chromium", why: "browser tests and notebook screenshots" },
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

const statuses = await stackUp();
for (const s of statuses) console.log(`${s.state === "up" ? "✔" : "✖"} ${s.name} ${s.state} ${s.endpoint}`);
process.exit(statuses.every((s) => s.state === "up") ? 0 : 1);
