import { expect, test } from "bun:test";
import { keepNotes } from "./harness.ts";

test("hand-written notes under `## Notes` survive a regenerated BENCHMARKS.md; none, nothing added", () => {
  const previous = "# Benchmarks\n\n| old |\n\n## Notes\n\n- **cdc**: measured by hand.\n";
  const rendered = "# Benchmarks\n\n| new |\n";
  expect(keepNotes(previous, rendered)).toBe(
    "# Benchmarks\n\n| new |\n\n## Notes\n\n- **cdc**: measured by hand.\n",
  );
  expect(keepNotes("# Benchmarks\n\n| old |\n", rendered)).toBe(rendered);
});
