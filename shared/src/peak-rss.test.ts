import { expect, test } from "bun:test";
import { peakRssMb } from "./peak-rss.ts";

test("reads the kernel's peak RSS of this process and of a child; a gone process has none", async () => {
  const self = peakRssMb() ?? 0;
  expect(self).toBeGreaterThanOrEqual(process.memoryUsage.rss() / 2 ** 20 - 1);
  const child = Bun.spawn(["sleep", "5"]);
  try {
    expect(peakRssMb(child.pid)).toBeGreaterThan(0);
  } finally {
    child.kill();
    await child.exited;
  }
  expect(peakRssMb(child.pid)).toBeUndefined();
});
