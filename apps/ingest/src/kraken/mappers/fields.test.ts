/**
 * rfc3339Text reads a canonical timestamp within the second it checked last without the calendar
 * work: the results must equal the full parse, and whatever is not canonical must still be refused.
 */
import { expect, test } from "bun:test";
import { testRandom } from "@tributary/shared/testing/random";
import { formatMicros, parseRfc3339Micros } from "@tributary/shared/time";
import { rfc3339Text } from "./fields.ts";
import { MappingError } from "./mapping.ts";

test("timestamps read within the last second checked equal the full parse, micros included", () => {
  const { random } = testRandom("timestamps read within the last second checked equal the full parse");
  let micros = 1_700_000_000_000_000n;
  for (let i = 0; i < 5_000; i++) {
    // Mostly steps inside one second (book updates), sometimes across seconds, hours and days.
    const step = random() < 0.9 ? Math.floor(random() * 300) : Math.floor(random() * 1e11);
    micros += BigInt(step);
    const text = formatMicros(micros);
    expect(rfc3339Text(text, "timestamp")).toEqual([text, micros]);
    // The same instant in another form is canonicalized by the full parse, not taken as is.
    const offset = `${text.slice(0, 26)}000+00:00`;
    expect(rfc3339Text(offset, "timestamp")).toEqual([text, parseRfc3339Micros(offset)]);
  }
});

test("a timestamp sharing the checked second but not canonical is still refused or canonicalized", () => {
  const second = "2026-03-01T12:00:00";
  expect(rfc3339Text(`${second}.000001Z`, "timestamp")[1]).toBe(parseRfc3339Micros(`${second}.000001Z`));
  for (const bad of [`${second}.00000aZ`, `${second}.000001X`, `${second}.0000011`, `${second}x000001Z`])
    expect(() => rfc3339Text(bad, "timestamp")).toThrow(MappingError);
  expect(rfc3339Text(`${second}.0000019Z`, "timestamp")).toEqual([
    `${second}.000001Z`,
    parseRfc3339Micros(`${second}.000001Z`),
  ]);
  expect(rfc3339Text(`${second}.5Z`, "timestamp")[0]).toBe(`${second}.500000Z`);
});
