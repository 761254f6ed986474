import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import { S3Client } from "bun";
import { READY_PROBE_PREFIX, s3Client, s3Ready } from "./s3.ts";

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

test("S3Proxy logs no line per request (its Logback would log every Jetty connection at DEBUG)", async () => {
  const log = join(config.stateDir, "s3", "s3proxy.log");
  const before = statSync(log).size;
  const s3 = s3Client(config);
  const key = `${uniqueName("quiet")}.txt`;
  for (let i = 0; i < 20; i++) {
    await s3.write(key, `request ${i}`);
    expect(await s3.file(key).text()).toBe(`request ${i}`);
  }
  await s3.delete(key);
  // 41 requests: the old default wrote some 40 KB of DEBUG lines for them. An S3Proxy started by an
  // older `bun run stack up` still does: `bun run stack down s3` and `up` again restarts it quiet.
  const appended = readFileSync(log).subarray(before).toString();
  expect(appended.split("\n").filter((line) => line.includes(" DEBUG "))).toEqual([]);
});

test("the readiness probe lists a prefix that stays empty, never the bucket's root", async () => {
  // S3Proxy's filesystem backend walks every file under a listed prefix whatever max-keys says: a
  // root list cost 0.53 CPU-s with 5,900 files in the bucket, on each test file's stack probe.
  const seen: string[] = [];
  using server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen.push(new URL(req.url).search);
      return new Response(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${config.s3.bucket}</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
        { headers: { "content-type": "application/xml" } },
      );
    },
  });
  const probed = { ...config, s3: { ...config.s3, endpoint: `http://127.0.0.1:${server.port}` } };
  expect(await s3Ready(probed)).toBe(true);
  expect(seen).toHaveLength(1);
  expect(new URLSearchParams(seen[0]).get("prefix")).toBe(READY_PROBE_PREFIX);
  expect((await s3Client(config).list({ prefix: READY_PROBE_PREFIX })).contents ?? []).toEqual([]);
  // Against the real server it still means "signed requests are accepted".
  expect(await s3Ready(config)).toBe(true);
  expect(await s3Ready({ ...config, s3: { ...config.s3, secretAccessKey: "not-the-secret" } })).toBe(false);
});
