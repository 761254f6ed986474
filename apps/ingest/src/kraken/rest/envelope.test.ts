import { expect, test } from "bun:test";
import { KrakenConfigError, type KrakenError } from "../errors.ts";
import { parseEnvelope, resultPairKey } from "./envelope.ts";

function failure(body: string): KrakenError {
  try {
    parseEnvelope(body, "Trades");
  } catch (err) {
    return err as KrakenError;
  }
  throw new Error("expected a failure");
}

test("errors are read before the result, even when a result is present", () => {
  const e = failure('{"error":["EAPI:Rate limit exceeded"],"result":{"XXBTZUSD":[]}}');
  expect(e.kind).toBe("rate_limit");
  expect(e.retryable).toBe(true);
});

test("an unknown pair is a configuration error that is not retried", () => {
  const e = failure('{"error":["EQuery:Unknown asset pair"]}');
  expect(e).toBeInstanceOf(KrakenConfigError);
  expect(e.retryable).toBe(false);
});

test("warnings alone do not fail the call", () => {
  expect(parseEnvelope('{"error":["WGeneral:Something"],"result":{"a":1}}', "x")).toBeDefined();
});

test("non-JSON, an envelope without error, or a result that is not an object are invalid bodies", () => {
  for (const body of [
    "<html>502</html>",
    "",
    '{"result":{}}',
    '{"error":"EGeneral:Internal error"}',
    '{"error":[],"result":null}',
    '{"error":[],"result":"x"}',
  ]) {
    const e = failure(body);
    expect(e.kind).toBe("invalid_body");
    expect(e.details.body).toBe(body);
  }
});

test("the result key is whichever key is not last", () => {
  expect(resultPairKey(parseEnvelope('{"error":[],"result":{"last":"1","BTC/USD":[]}}', "x"), "x")).toBe(
    "BTC/USD",
  );
  expect(() => resultPairKey(parseEnvelope('{"error":[],"result":{"last":"1"}}', "x"), "x")).toThrow(
    /exactly one/,
  );
});
