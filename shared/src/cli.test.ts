import { describe, expect, test } from "bun:test";
import { commandLineOrExit, parseCommandLine, UsageError, wantsHelp } from "./cli.ts";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function run(argv: string[], parse?: (a: readonly string[]) => unknown) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (t: string) => out.push(t),
    err: (t: string) => err.push(t),
    exit: (code: number): never => {
      throw new Exit(code);
    },
  };
  try {
    const values = commandLineOrExit(
      "demo",
      "usage: bun run demo [--json]",
      argv,
      parse ?? ((a) => parseCommandLine(a, { json: { type: "boolean" }, duration: { type: "string" } })),
      io,
    );
    return { code: null, values, out, err };
  } catch (e) {
    if (e instanceof Exit) return { code: e.code, out, err };
    throw e;
  }
}

describe("command lines", () => {
  test("--help or -h anywhere answers the usage with exit 0, before parsing", () => {
    expect(run(["--bogus", "--help"])).toMatchObject({ code: 0, out: ["usage: bun run demo [--json]"] });
    expect(run(["-h"]).code).toBe(0);
    expect(wantsHelp(["--", "--help"])).toBe(false);
  });

  test("an unknown option, a missing value or a stray argument is one line and exit 2", () => {
    const line = (argv: string[]) => run(argv).err;
    expect(line(["--bogus"])).toEqual(["demo: unknown option --bogus (bun run demo --help shows the usage)"]);
    expect(line(["extra"])).toEqual([
      "demo: unexpected argument extra (bun run demo --help shows the usage)",
    ]);
    expect(run(["--duration"]).code).toBe(2);
    expect(run(["--duration"]).err[0]).not.toContain("\n");
  });

  test("a command's own UsageError is answered the same way; valid arguments pass through", () => {
    const res = run(["--json", "--duration", "2m"]);
    expect([res.code, res.values]).toEqual([
      null,
      { values: { json: true, duration: "2m" }, positionals: [] },
    ]);
    const own = run(["--duration", "soon"], () => {
      throw new UsageError('--duration: "soon" is not a duration');
    });
    expect([own.code, own.err]).toEqual([
      2,
      ['demo: --duration: "soon" is not a duration (bun run demo --help shows the usage)'],
    ]);
  });
});
