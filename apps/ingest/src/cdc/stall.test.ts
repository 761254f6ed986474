/**
 * CDC's /health measures progress, end to end: `bun run cdc` (the real CLI, in a child) streams a table
 * of the shared PostgreSQL into a private broker (never the shared one). With the broker killed, WAL
 * waits with no LSN confirmed, so /health turns 503 within HEALTH_STALL_AFTER_S (plus a stated
 * allowance) naming the stalled confirmation; once the broker is back it is 200 again and every row
 * is in Kafka exactly as PostgreSQL has it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { cdcTopic } from "@tributary/shared/contracts/topics";
import { createKafka } from "@tributary/shared/kafka";
import { freePort } from "@tributary/shared/net/ports";
import { type HealthAnswer, pollHealth } from "@tributary/shared/testing/health";
import { uniqueName } from "@tributary/shared/testing/names";
import { type PrivateStack, startPrivateStack } from "@tributary/stack/testing/private-stack";
import type pg from "pg";
import { openSqlClient } from "./catalog.ts";
import { dropCapture, envelopesOf, readTopics } from "./testing/support.ts";

const STALL_S = 3;
/** Past the stall limit: /health is polled every POLL_MS and one answer may queue behind the event loop. */
const ALLOWANCE_MS = 1_500;
const POLL_MS = 100;
const CLI = new URL("./cli.ts", import.meta.url).pathname;

const shared = loadConfig();
const schema = uniqueName("cdcstall");
const slot = uniqueName("slot");
const publication = uniqueName("pub");
const prefix = uniqueName("cdcstall");
let stack: PrivateStack;
let sql: pg.Client;

beforeAll(async () => {
  stack = await startPrivateStack(["kafka"]);
  sql = await openSqlClient(shared.postgres.url, "cdc-stall-test");
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.quotes (id int PRIMARY KEY, price numeric(18,2) NOT NULL)`);
}, 120_000);

afterAll(async () => {
  await dropCapture(sql, { slot: slot, publication: publication, schema });
  await sql.end();
  await stack?.close();
});

interface CdcHealth {
  readonly state: string;
  readonly lag_bytes: number;
}

const healthUntil = (url: string, want: (h: HealthAnswer<CdcHealth>) => boolean, ms: number) =>
  pollHealth<CdcHealth>(url, want, ms, POLL_MS);

const insert = (from: number, n: number) =>
  sql.query(`INSERT INTO ${schema}.quotes SELECT i, i * 1.25 FROM generate_series($1::int, $2::int) AS i`, [
    from,
    from + n - 1,
  ]);

test("a private broker killed while PostgreSQL changes: /health 503 within the stall limit naming the unconfirmed WAL, 200 once it is back, every row in Kafka", async () => {
  await insert(1, 10); // snapshot rows
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = Bun.spawn(["bun", CLI], {
    env: {
      ...stack.env,
      CDC_TABLES: `${schema}.quotes`,
      CDC_SLOT: slot,
      CDC_PUBLICATION: publication,
      CDC_TOPIC_PREFIX: prefix,
      CDC_METRICS_PORT: String(port),
      HEALTH_STALL_AFTER_S: String(STALL_S),
      LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const streaming = await healthUntil(url, (h) => h.status === 200 && h.body.state === "streaming", 60_000);
    expect(streaming.last?.body.state).toBe("streaming");
    await insert(11, 10);
    const caughtUp = await healthUntil(url, (h) => h.status === 200 && h.body.lag_bytes === 0, 30_000);
    expect(caughtUp.last?.body.lag_bytes).toBe(0);

    const pid = stack.pid("kafka");
    expect(pid).toBeNumber();
    process.kill(pid as number, "SIGKILL");
    // The WAL can begin to wait before the INSERT's commit reaches us (the walsender may stream it
    // first), so the clock starts before the INSERT: the 503 can never come sooner than this + limit.
    const waitingSince = Date.now();
    await insert(21, 10); // WAL that cannot be confirmed while the broker is gone
    const down = await healthUntil(url, (h) => h.status === 503, (STALL_S * 1000 + ALLOWANCE_MS) * 4);
    const downAfterMs = Date.now() - waitingSince;
    console.log(
      `broker killed: /health 503 ${downAfterMs} ms after the WAL began to wait: ${JSON.stringify(down.last?.body.checks)}`,
    );
    expect(down.last?.status).toBe(503);
    expect(down.last?.body.checks.wal?.detail).toContain("no confirmed LSN");
    expect(downAfterMs).toBeGreaterThanOrEqual(STALL_S * 1000);
    expect(downAfterMs).toBeLessThanOrEqual(STALL_S * 1000 + ALLOWANCE_MS);

    await stack.up();
    const up = await healthUntil(url, (h) => h.status === 200 && h.body.lag_bytes === 0, 90_000);
    console.log(`broker back: /health 200 after ${up.afterMs} ms: ${JSON.stringify(up.last?.body)}`);
    expect(up.last?.status).toBe(200);
    expect(child.exitCode).toBeNull(); // it rode out the outage: nothing to restart by hand

    const kafka = createKafka(stack.config.kafka, "cdc-stall-reader");
    const topic = cdcTopic(prefix, schema, "quotes");
    const records = await readTopics(kafka, [topic], 30_000, uniqueName("reader"));
    const ids = new Set(envelopesOf(records, topic).map((e) => Number(e.envelope.after?.id)));
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  } finally {
    child.kill("SIGTERM");
    await child.exited;
    const err = await new Response(child.stderr).text();
    if (process.env.DEBUG_CDC_STALL)
      console.log(
        err
          .split("\n")
          .filter((l) => !l.includes("kafkajs"))
          .join("\n"),
      );
  }
}, 240_000);
