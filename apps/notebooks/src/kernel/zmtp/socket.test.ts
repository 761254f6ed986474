/**
 * Our ZMTP sockets against real libzmq (Debian's pyzmq, the binding Jupyter's own client uses):
 * DEALER ↔ ROUTER with identities and long frames, SUB ← PUB with prefix filters, REQ ↔ REP echo.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { pythonWithJupyter } from "../../testing/jupyter.ts";
import { encodeMessage, StreamDecoder } from "./codec.ts";
import { BoundSocket } from "./socket.ts";

const python = pythonWithJupyter();
let router: BoundSocket;
let pub: BoundSocket;
let rep: BoundSocket;
let publisher: ReturnType<typeof setInterval>;
const te = new TextEncoder();

beforeAll(() => {
  router = BoundSocket.bind({
    type: "ROUTER",
    host: "127.0.0.1",
    port: 0,
    // Echo each message back with its frames reversed, to the identity it came from.
    onMessage: ([identity, ...frames], reply) => reply([identity as Uint8Array, ...frames.reverse()]),
  });
  pub = BoundSocket.bind({ type: "PUB", host: "127.0.0.1", port: 0 });
  rep = BoundSocket.bind({
    type: "REP",
    host: "127.0.0.1",
    port: 0,
    onMessage: (body, reply) => reply(body),
  });
  publisher = setInterval(() => {
    pub.publish([te.encode("status.idle"), te.encode("for everyone")]);
    pub.publish([te.encode("other"), te.encode("filtered out")]);
  }, 20);
});

afterAll(() => {
  clearInterval(publisher);
  router.close();
  pub.close();
  rep.close();
});

test("the encoder and decoder agree on short, long and empty frames", () => {
  const frames = [new Uint8Array(0), te.encode("x"), new Uint8Array(300).fill(7), new Uint8Array(255)];
  const greeting = new Uint8Array(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting.set(te.encode("NULL"), 12);
  const decoder = new StreamDecoder();
  const bytes = encodeMessage(frames);
  // Fed one byte at a time: the decoder must resume anywhere.
  decoder.push(greeting);
  expect(decoder.next()?.kind).toBe("greeting");
  let got: Uint8Array[] | undefined;
  for (const b of bytes) {
    decoder.push(new Uint8Array([b]));
    const item = decoder.next();
    if (item?.kind === "message") got = item.frames;
  }
  expect(got?.map((f) => f.length)).toEqual([0, 1, 300, 255]);
  expect(got?.[2]?.every((b) => b === 7)).toBe(true);
});

test("libzmq's DEALER, SUB and REQ talk to our ROUTER, PUB and REP", async () => {
  const script = `
import json, sys, zmq
ctx = zmq.Context()
out = {}
d = ctx.socket(zmq.DEALER); d.setsockopt(zmq.IDENTITY, b"client-1"); d.connect("tcp://127.0.0.1:${router.port}")
big = b"y" * 70000
d.send_multipart([b"a", b"", big])
assert d.poll(5000), "no reply from ROUTER"
r = d.recv_multipart(); out["dealer"] = [len(f) for f in r]; out["dealer_first"] = r[0][:1].decode()
s = ctx.socket(zmq.SUB); s.setsockopt(zmq.SUBSCRIBE, b"status."); s.connect("tcp://127.0.0.1:${pub.port}")
assert s.poll(5000), "nothing published"
out["sub"] = [f.decode() for f in s.recv_multipart()]
q = ctx.socket(zmq.REQ); q.connect("tcp://127.0.0.1:${rep.port}")
q.send(b"ping"); assert q.poll(5000), "no heartbeat echo"; out["req"] = q.recv().decode()
print(json.dumps(out))
for sock in (d, s, q): sock.close(0)
ctx.term()
`;
  const proc = Bun.spawn([python, "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual({
    dealer: [70000, 0, 1],
    dealer_first: "y",
    sub: ["status.idle", "for everyone"],
    req: "ping",
  });
  expect(router.dropped).toBe(0);
}, 20_000);
