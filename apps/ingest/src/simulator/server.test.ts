/** The simulator speaks Kraken's formats: REST envelopes and paging, WS v2 messages, fixtures byte-exact. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { restTimeToken } from "../kraken/rest-time.ts";
import { loadRestFixtures, restFixture } from "./fixtures.ts";
import { KrakenSimulator } from "./server.ts";

const fixtures = loadRestFixtures();

async function get(
  sim: KrakenSimulator,
  path: string,
): Promise<{ status: number; text: string; type: string }> {
  const r = await fetch(`${sim.baseUrl}${path}`);
  return { status: r.status, text: await r.text(), type: r.headers.get("content-type") ?? "" };
}

/** Collects WS messages until `until` matches one, or times out. */
async function wsSession(
  sim: KrakenSimulator,
  send: object[],
  until: (m: string[]) => boolean,
  timeoutMs = 3_000,
): Promise<string[]> {
  const ws = new WebSocket(sim.wsUrl);
  const got: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout; got ${JSON.stringify(got).slice(0, 500)}`)),
        timeoutMs,
      );
      ws.onopen = () => {
        for (const s of send) ws.send(JSON.stringify(s));
      };
      ws.onmessage = (e) => {
        got.push(String(e.data));
        if (until(got)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  } finally {
    ws.close();
  }
  return got;
}

describe("synthetic mode", () => {
  let sim: KrakenSimulator;
  beforeAll(async () => {
    sim = await KrakenSimulator.start({ seed: 11, tradesPerSecond: 400, totalTrades: 600, heartbeatMs: 100 });
    await sim.whenFinished();
  });
  afterAll(() => sim.stop());

  test("Trades pages by ns since (exclusive), up to count, keyed by the pair id, last = ns of the final trade", async () => {
    const first = await get(sim, "/0/public/Trades?pair=XBTUSD&since=0&count=3");
    expect(first.status).toBe(200);
    expect(first.type).toContain("application/json");
    const body = JSON.parse(first.text);
    expect(body.error).toEqual([]);
    expect(Object.keys(body.result)).toEqual(["XXBTZUSD", "last"]);
    const rows = body.result.XXBTZUSD as unknown[][];
    expect(rows.map((r) => r[6])).toEqual([70000001, 70000002, 70000003]);
    expect(rows[0]?.[0]).toMatch(/^\d+\.\d{5}$/);
    expect(rows[0]?.[1]).toMatch(/^\d+\.\d{8}$/);
    expect(typeof body.result.last).toBe("string");
    // last is the exact ns of the final trade; its time is that instant as Kraken's float.
    const third = sim.truth("BTC/USD")[2];
    expect(body.result.last).toBe(third?.time_ns);
    const lastTime = /,(\d+\.\d+),"[bs]","[ml]","",70000003\]/.exec(first.text)?.[1] ?? "";
    expect(lastTime).toBe(restTimeToken(BigInt(third?.time_ns ?? "0")));
    const next = JSON.parse(
      (await get(sim, `/0/public/Trades?pair=BTC/USD&since=${body.result.last}&count=2`)).text,
    );
    expect((next.result.XXBTZUSD as unknown[][])[0]?.[6]).toBeGreaterThan(70000003);
  });

  test("errors come with HTTP 200 in Kraken's envelope, byte-exact from the recorded error bodies", async () => {
    const unknown = await get(sim, "/0/public/Trades?pair=FOOBAR");
    expect(unknown.status).toBe(200);
    expect(unknown.text).toBe(restFixture(fixtures, "err-unknown-asset-pair").body);
    expect((await get(sim, "/0/public/Trades?pair=XBTUSD&count=5000")).text).toContain(
      "EGeneral:Invalid arguments",
    );
    expect((await get(sim, "/0/public/OHLC?pair=XBTUSD&interval=7")).text).toContain(
      "EGeneral:Invalid arguments",
    );
  });

  test("AssetPairs without pair is the recorded 2021 catalog byte for byte; with pair, the recorded entries", async () => {
    const all = await get(sim, "/0/public/AssetPairs");
    expect(all.text).toBe(restFixture(fixtures, "assetpairs-all-2021-04-17").body);
    expect(all.text).toContain('"wsname":"XBT\\/USD"');
    const some = JSON.parse((await get(sim, "/0/public/AssetPairs?pair=BTC/USD,XDGUSD")).text);
    expect(Object.keys(some.result)).toEqual(["XXBTZUSD", "XDGUSD"]);
  });

  test("the ground truth is exposed as NDJSON and matches the in-process view", async () => {
    const text = (await get(sim, "/_sim/truth?symbol=ETH/USD")).text;
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(sim.truth("ETH/USD"));
    const total = sim.symbols().reduce((s, x) => s + sim.truth(x).length, 0);
    expect(total).toBe(600);
  });

  test("WS v2: status with a u64 connection_id, one ack per symbol, a snapshot, refusals for v1 names", async () => {
    const msgs = await wsSession(
      sim,
      [{ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD", "XBT/USD"] }, req_id: 42 }],
      (m) => m.some((x) => x.includes('"type":"snapshot"')) && m.some((x) => x.includes("not supported")),
    );
    expect(msgs[0]).toMatch(
      /^\{"channel":"status","type":"update","data":\[\{"version":"2\.0\.10","system":"online","api_version":"v2","connection_id":\d{20},/,
    );
    expect(msgs).toContainEqual(
      expect.stringMatching(
        /^\{"method":"subscribe","req_id":42,"result":\{"channel":"trade","snapshot":true,"symbol":"BTC\/USD"\},"success":true,"time_in":"[^"]+Z","time_out":"[^"]+Z"\}$/,
      ),
    );
    expect(msgs).toContainEqual(
      expect.stringContaining(
        '{"error":"Currency pair not supported XBT/USD","method":"subscribe","req_id":42,"success":false,"symbol":"XBT/USD"',
      ),
    );
    const snap = JSON.parse(msgs.find((x) => x.includes('"type":"snapshot"')) ?? "{}");
    expect(snap.data).toHaveLength(50);
  });

  test("WS v2: ping gets a pong, ping with params an error, and an idle subscription heartbeats", async () => {
    const msgs = await wsSession(
      sim,
      [
        { method: "ping", req_id: 7 },
        { method: "ping", params: {}, req_id: 8 },
        { method: "subscribe", params: { channel: "ticker", symbol: ["ETH/USD"] } },
      ],
      (m) => m.some((x) => x === '{"channel":"heartbeat"}'),
    );
    expect(msgs).toContainEqual(expect.stringMatching(/^\{"method":"pong","req_id":7,"time_in":/));
    expect(msgs).toContainEqual(
      expect.stringContaining("Unsupported field: 'params' for the given msg type: ping"),
    );
    expect(msgs).toContainEqual(expect.stringContaining('"channel":"ticker","type":"snapshot"'));
  });
});

describe("fixture mode", () => {
  let sim: KrakenSimulator;
  beforeAll(async () => {
    sim = await KrakenSimulator.start({ mode: "fixtures" });
  });
  afterAll(() => sim.stop());

  test("recorded bodies are served byte-exact", async () => {
    expect((await get(sim, "/0/public/Trades?pair=XBTUSDT")).text).toBe(
      restFixture(fixtures, "trades-xbtusdt-1000-2025-11-10").body,
    );
    expect((await get(sim, "/0/public/Ticker?pair=XBTUSDT")).text).toBe(
      restFixture(fixtures, "ticker-xbtusdt-2025-11-11").body,
    );
    expect((await get(sim, "/0/public/OHLC?pair=XBTUSDT")).text).toBe(
      restFixture(fixtures, "ohlc-xbtusdt-1m-721-2025-11-11").body,
    );
    expect((await get(sim, "/0/public/Time")).text).toBe(restFixture(fixtures, "time-2025-11-11").body);
  });

  test("the recorded page is served verbatim, last included, for since=0 and for a since inside it", async () => {
    const recorded = restFixture(fixtures, "trades-xbtusdt-1000-2025-11-10").body;
    expect((await get(sim, "/0/public/Trades?pair=XBTUSDT&since=0")).text).toBe(recorded);
    const inside = JSON.parse(
      (await get(sim, "/0/public/Trades?pair=XBTUSDT&since=1762795483306824000")).text,
    );
    expect((inside.result.XBTUSDT as unknown[][])[0]?.[6]).toBe(10218213);
    expect((inside.result.XBTUSDT as unknown[][]).at(-1)?.[6]).toBe(10219207);
    expect(inside.result.last).toBe("1762820035982277754");
    const past = JSON.parse((await get(sim, "/0/public/Trades?pair=XBTUSDT&since=1762820035982277754")).text);
    expect(past.result).toEqual({ XBTUSDT: [], last: "1762820035982277754" });
  });

  test("a page cut short by count (synthetic, no recorded chain exists) ends at the float of its final row", async () => {
    const body = JSON.parse(
      (await get(sim, "/0/public/Trades?pair=XBTUSDT&since=1762795483306824000&count=2")).text,
    );
    expect((body.result.XBTUSDT as unknown[][]).map((r) => r[6])).toEqual([10218213, 10218214]);
    expect(body.result.last).toBe("1762795600652119900");
  });

  test("WS replays the recorded trade frames on subscribe", async () => {
    const msgs = await wsSession(
      sim,
      [{ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] } }],
      (m) => m.some((x) => x.includes("70635300")),
    );
    expect(msgs[0]).toContain('"connection_id":18125794168470749634');
    expect(msgs).toContainEqual(expect.stringContaining('"price":68500.0,"qty":0.00483192'));
  });
});

describe("faults", () => {
  test("REST failures answer 429/5xx with HTML or Kraken errors with HTTP 200, and are counted", async () => {
    const sim = await KrakenSimulator.start({
      autoStart: false,
      faults: { restFailureRate: 1, restFailureKinds: ["http429"] },
    });
    try {
      const r = await get(sim, "/0/public/Time");
      expect(r.status).toBe(429);
      expect(r.text).toContain("<html>");
      sim.setFaults({ restFailureKinds: ["rate_limit"] });
      const r2 = await get(sim, "/0/public/Time");
      expect(r2.status).toBe(200);
      expect(r2.text).toBe(restFixture(fixtures, "err-rate-limit").body);
      const stats = sim.snapshotStats().faults;
      expect([stats.restHttp429, stats.restRateLimitErrors]).toEqual([1, 1]);
    } finally {
      await sim.stop();
    }
  });
});
