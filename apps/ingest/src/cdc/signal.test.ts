import { describe, expect, test } from "bun:test";
import { parseSignal, SignalError, signalRowText } from "./signal.ts";

describe("signal rows", () => {
  test("an execute-snapshot row names its tables; the type defaults to incremental, duplicates collapse", () => {
    expect(
      parseSignal(["s1", "execute-snapshot", '{"data-collections":["public.t","public.t","a.b"]}']),
    ).toEqual({
      kind: "execute-snapshot",
      id: "s1",
      tables: ["public.t", "a.b"],
    });
    expect(
      parseSignal(["s2", "execute-snapshot", '{"data-collections":["public.t"],"type":"INCREMENTAL"}']),
    ).toMatchObject({ kind: "execute-snapshot", tables: ["public.t"] });
  });

  test("watermark rows carry their chunk id; a stop without tables stops all; log rows carry a message", () => {
    expect(parseSignal(["c-1-open", "snapshot-window-open", "{}"])).toEqual({
      kind: "window-open",
      id: "c-1-open",
      chunkId: "c-1",
    });
    expect(parseSignal(["c-1-close", "snapshot-window-close", null])).toMatchObject({ chunkId: "c-1" });
    expect(parseSignal(["x", "stop-snapshot", '{"type":"incremental"}'])).toMatchObject({ tables: [] });
    expect(parseSignal(["x", "log", '{"message":"hi"}'])).toMatchObject({ kind: "log", message: "hi" });
  });

  test("bad rows are refused with a reason that says what is wrong", () => {
    const reason = (row: (string | null)[]): string => {
      try {
        parseSignal(row);
      } catch (err) {
        expect(err).toBeInstanceOf(SignalError);
        return (err as Error).message;
      }
      throw new Error("expected a SignalError");
    };
    expect(reason(["a", "execute-snapshot", '{"data-collections": ['])).toContain("data is not JSON");
    expect(reason(["a", "execute-snapshot", "[1]"])).toContain("must be a JSON object");
    expect(reason(["a", "execute-snapshot", "{}"])).toContain('"data-collections" must be a non-empty array');
    expect(reason(["a", "execute-snapshot", '{"data-collections":[1]}'])).toContain("non-empty array");
    expect(reason(["a", "execute-snapshot", null])).toContain("needs JSON in its data column");
    expect(reason(["a", "execute-snapshot", '{"data-collections":["p.t"],"type":"blocking"}'])).toContain(
      'only "incremental"',
    );
    expect(reason(["a", "execute-snapshot", '{"data-collections":["p.t"],"surrogate-key":"k"}'])).toContain(
      '"surrogate-key" is not supported',
    );
    expect(reason(["a", "explode", "{}"])).toContain('unknown signal type "explode"');
    expect(reason(["a-open", "snapshot-window-close", null])).toContain("must end with -close");
    expect(reason([null, "log", "{}"])).toContain("needs an id and a type");
  });

  test("the row's text for the log and the DLQ keeps id, type and data", () => {
    expect(signalRowText(["a", "execute-snapshot", null])).toBe(
      '{"id":"a","type":"execute-snapshot","data":null}',
    );
  });
});
