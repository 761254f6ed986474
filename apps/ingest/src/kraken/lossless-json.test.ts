import { describe, expect, test } from "bun:test";
import { JsonNumber, parseLossless, rawObjectMembers } from "./lossless-json.ts";

describe("parseLossless", () => {
  test("keeps number tokens exactly: trailing zeros, 7-decimal times, u64 ids", () => {
    const v = parseLossless(
      '{"qty":0.00044780,"time":1762795433.9717445,"id":18125794168470749634,"s":"1.50"}',
    ) as Record<string, unknown>;
    expect(v.qty).toEqual(new JsonNumber("0.00044780"));
    expect(v.time).toEqual(new JsonNumber("1762795433.9717445"));
    expect(v.id).toEqual(new JsonNumber("18125794168470749634"));
    expect(v.s).toBe("1.50");
  });

  test("rejects malformed JSON like JSON.parse", () => {
    expect(() => parseLossless('{"a":01}')).toThrow(SyntaxError);
    expect(() => parseLossless("")).toThrow(SyntaxError);
  });
});

describe("rawObjectMembers", () => {
  test("returns each member's raw text byte for byte, escapes and number tokens included", () => {
    const text = '{"a":{"wsname":"AAVE\\/AUD","x":[1.0,{"y":"}"}]},"b" : 0.10 ,"c":"q\\"}"}';
    const m = rawObjectMembers(text);
    expect(m.get("a")).toBe('{"wsname":"AAVE\\/AUD","x":[1.0,{"y":"}"}]}');
    expect(m.get("b")).toBe("0.10");
    expect(m.get("c")).toBe('"q\\"}"');
  });

  test("refuses text that is not an object", () => {
    expect(() => rawObjectMembers("[1]")).toThrow(SyntaxError);
    expect(() => rawObjectMembers('{"a":')).toThrow(SyntaxError);
  });
});
