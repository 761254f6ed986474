/**
 * Test preload (bunfig.toml): makes sure the local stack is up before any test runs, starting it
 * if needed (and restarting what died). TRIBUTARY_TEST_STACK=off runs pure unit tests without it.
 * Tests isolate themselves with `uniqueName()` topics, groups, schemas and bucket prefixes.
 */
import { stackUp } from "../stack.ts";

if (process.env.TRIBUTARY_TEST_STACK !== "off") {
  const statuses = await stackUp({ say: () => undefined });
  const down = statuses.filter((s) => s.state !== "up");
  if (down.length > 0) {
    throw new Error(
      `test stack not healthy: ${down.map((s) => `${s.name} ${s.state} ${s.detail ?? ""}`).join("; ")}`,
    );
  }
}
