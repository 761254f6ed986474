/**
 * Resolves a JVM service's classpath from Maven Central with the machine's Maven, once: the result
 * is cached per profile and version in the state directory, the jars in Maven's local repository.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StackError, which } from "./proc.ts";

const POM = join(import.meta.dir, "..", "maven", "pom.xml");

export interface ClasspathRequest {
  readonly profile: "kafka" | "s3proxy" | "debezium" | "spark" | "iceberg-rest";
  readonly property: string;
  readonly version: string;
  readonly cacheDir: string;
}

/**
 * Runs one Maven goal with the project's pom (quiet, batch) and checks that it produced `file`;
 * otherwise throws naming `what` and Maven's first error lines.
 */
async function runMaven(goal: readonly string[], file: string, what: string): Promise<void> {
  const mvn = which("mvn");
  if (!mvn)
    throw new StackError(
      "Maven (mvn) is not on PATH: install it (apt-get install maven) to run Kafka and S3Proxy",
    );
  const proc = Bun.spawn([mvn, "-q", "-B", "-f", POM, ...goal], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0 || !existsSync(file)) {
    const reason = `${out}\n${err}`
      .split("\n")
      .filter((l) => l.includes("ERROR"))
      .slice(0, 3)
      .join("\n");
    throw new StackError(`Maven could not resolve ${what} from Maven Central:\n${reason}`);
  }
}

export async function resolveClasspath(req: ClasspathRequest): Promise<string> {
  const pomHash = Bun.hash(readFileSync(POM, "utf8")).toString(36);
  const file = join(req.cacheDir, `classpath-${req.profile}-${req.version}-${pomHash}.txt`);
  if (existsSync(file)) {
    const cp = readFileSync(file, "utf8").trim();
    if (cp.split(":").every((jar) => existsSync(jar))) return cp;
  }
  if (!which("java"))
    throw new StackError("Java is not on PATH: install a JDK 17+ (apt-get install openjdk-17-jre-headless)");
  mkdirSync(req.cacheDir, { recursive: true });
  await runMaven(
    [
      `-P${req.profile}`,
      `-D${req.property}=${req.version}`,
      "dependency:build-classpath",
      `-Dmdep.outputFile=${file}`,
    ],
    file,
    `${req.profile} ${req.version}`,
  );
  return readFileSync(file, "utf8").trim();
}

/**
 * One artifact (`group:artifact:version[:type[:classifier]]`, e.g. a `tar.gz` distribution) copied
 * from Maven Central into `outputDir` (Maven's own cache serves it after the first time); returns
 * the file's path.
 */
export async function resolveArtifact(
  coordinates: string,
  outputDir: string,
  fileName: string,
): Promise<string> {
  const file = join(outputDir, fileName);
  if (existsSync(file)) return file;
  mkdirSync(outputDir, { recursive: true });
  await runMaven(
    ["dependency:copy", `-Dartifact=${coordinates}`, `-DoutputDirectory=${outputDir}`],
    file,
    coordinates,
  );
  return file;
}
