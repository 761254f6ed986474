import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import { S3Client } from "bun";
import { s3Client } from "./s3.ts";

const config = loadConfig();

test("put, list, get and delete through Bun's S3Client against the real S3 server", async () => {
  const s3 = s3Client(config);
  const prefix = `${uniqueName("s3")}/`;
  await s3.write(`${prefix}a.txt`, "alpha");
  await s3.write(`${prefix}b.bin`, new Uint8Array([0, 1, 2, 255]));
  const listed = await s3.list({ prefix });
  expect((listed.contents ?? []).map((o) => o.key).sort()).toEqual([`${prefix}a.txt`, `${prefix}b.bin`]);
  expect(await s3.file(`${prefix}a.txt`).text()).toBe("alpha");
  expect([...new Uint8Array(await s3.file(`${prefix}b.bin`).arrayBuffer())]).toEqual([0, 1, 2, 255]);
  await s3.delete(`${prefix}a.txt`);
  await s3.delete(`${prefix}b.bin`);
  expect((await s3.list({ prefix })).contents ?? []).toEqual([]);
});

test("a request signed with the wrong secret is refused (SigV4 is on)", async () => {
  const wrong = new S3Client({ ...config.s3, secretAccessKey: "not-the-secret" });
  await expect(wrong.write(`${uniqueName("denied")}.txt`, "x")).rejects.toThrow();
});
