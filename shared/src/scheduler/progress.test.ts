import { describe, expect, test } from "bun:test";
import { createProgressBar, formatDuration } from "./progress.ts";

function sink(isTTY: boolean): { write: (t: string) => void; isTTY: boolean; out: string[] } {
  const out: string[] = [];
  return { write: (t: string) => out.push(t), isTTY, out };
}

describe("progress bar", () => {
  test("on a terminal it redraws one line in place and ends it with a newline", () => {
    const s = sink(true);
    let t = 0;
    const bar = createProgressBar({ label: "backfill gold.candles", total: 4, sink: s, now: () => t });
    t = 200;
    bar.update(1, "2024-03-01T00:00Z");
    t = 400;
    bar.update(2);
    bar.finish(4);
    expect(s.out.every((l) => l.startsWith("\r\x1b[2K"))).toBe(true);
    expect(s.out[0]).toContain("[██████░░░░░░░░░░░░░░░░░░]  25% 1/4");
    expect(s.out.at(-1)).toContain(" 100% 4/4");
    expect(s.out.at(-1)?.endsWith("\n")).toBe(true);
  });

  test("on a pipe it prints plain lines, throttled, plus the final one", () => {
    const s = sink(false);
    let t = 0;
    const bar = createProgressBar({
      label: "backfill",
      total: 10,
      sink: s,
      now: () => t,
      plainEveryMs: 1000,
    });
    for (let i = 1; i <= 9; i++) {
      t += 100;
      bar.update(i);
    }
    bar.finish(10);
    expect(s.out.some((l) => l.includes("\x1b"))).toBe(false);
    expect(s.out).toHaveLength(2);
    expect(s.out[0]).toStartWith("backfill  10% 1/10");
    expect(s.out[1]).toStartWith("backfill 100% 10/10");
  });

  test("durations read as seconds, minutes and hours", () => {
    expect([formatDuration(4_400), formatDuration(125_000), formatDuration(7_260_000)]).toEqual([
      "4s",
      "2m05s",
      "2h01m",
    ]);
  });
});
