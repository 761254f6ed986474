/**
 * Test preload (bunfig.toml): makes sure the local stack is up before any test runs, starting it
 * if needed (and restarting what died). TRIBUTARY_TEST_STACK=off runs pure unit tests without it.
 * Tests isolate themselves with `uniqueName()` topics, groups, schemas and bucket prefixes.
 *
 * A status probe is one short request (Kafka: 1 s to connect, 2 s to answer); on a loaded machine
 * one can miss while the service is fine, so a service that answers "unhealthy" is probed again for
 * up to UNHEALTHY_GRACE_MS before the test file is failed. A service that is "down" is not waited for:
 * `stackUp` has just started it, so down means it died.
 */
import { stackStatus, stackUp } from "../stack.ts";

const UNHEALTHY_GRACE_MS = 30_000;

if (process.env.TRIBUTARY_TEST_STACK !== "off") {
  let statuses = await stackUp({ say: () => undefined });
  const deadline = Date.now() + UNHEALTHY_GRACE_MS;
  while (statuses.some((s) => s.state === "unhealthy") && Date.now() < deadline) {
    await Bun.sleep(1000);
    statuses = await stackStatus();
  }
  const down = statuses.filter((s) => s.state !== "up");
  if (down.length > 0) {
    throw new Error(
      `test stack not healthy: ${down.map((s) => `${s.name} ${s.state} ${s.detail ?? ""}`).join("; ")}`,
    );
  }
}
