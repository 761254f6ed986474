/**
 * The three bound ZeroMQ socket kinds a Jupyter kernel needs, over Bun's TCP server:
 * ROUTER (shell, control, stdin: messages carry the peer's identity), PUB (iopub: prefix-filtered
 * fan-out to subscribers) and REP (heartbeat: each request answered on its own connection).
 * Every connection's outgoing queue is bounded; over the bound a message is dropped, as a ZeroMQ
 * socket does at its high-water mark, and counted.
 */
import type { Socket, TCPSocketListener } from "bun";
import {
  concat,
  decodeMetadata,
  encodeCommand,
  encodeMessage,
  encodeMetadata,
  greeting,
  type Incoming,
  StreamDecoder,
  startsWith,
  ZmtpError,
} from "./codec.ts";

export type SocketType = "ROUTER" | "PUB" | "REP";

const PEERS: Readonly<Record<SocketType, readonly string[]>> = {
  ROUTER: ["DEALER", "REQ", "ROUTER"],
  PUB: ["SUB", "XSUB"],
  REP: ["REQ", "DEALER"],
};

/** Bytes queued per connection before further messages to it are dropped. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

interface Connection {
  readonly id: number;
  readonly decoder: StreamDecoder;
  identity: Uint8Array | undefined;
  ready: boolean;
  minor: number;
  readonly subscriptions: Uint8Array[];
  readonly queue: Uint8Array[];
  queued: number;
}

export interface BoundSocketOptions {
  readonly type: SocketType;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A complete message: ROUTER prefixes the peer identity, REP passes the body after the envelope. */
  readonly onMessage?: (frames: Uint8Array[], reply: (frames: readonly Uint8Array[]) => void) => void;
  readonly onProtocolError?: (error: Error) => void;
}

export class BoundSocket {
  readonly type: SocketType;
  private readonly listener: TCPSocketListener<Connection>;
  private readonly byIdentity = new Map<string, Socket<Connection>>();
  private readonly open = new Set<Socket<Connection>>();
  private nextId = 1;
  private nextAutoIdentity = 0x6b8b4567;
  dropped = 0;

  private constructor(options: BoundSocketOptions) {
    this.type = options.type;
    const self = this;
    this.listener = Bun.listen<Connection>({
      hostname: options.host,
      port: options.port,
      socket: {
        open(socket) {
          socket.data = {
            id: self.nextId++,
            decoder: new StreamDecoder(),
            identity: undefined,
            ready: false,
            minor: 0,
            subscriptions: [],
            queue: [],
            queued: 0,
          };
          self.open.add(socket);
          self.write(socket, greeting(), true);
        },
        data(socket, chunk) {
          const conn = socket.data;
          conn.decoder.push(chunk);
          try {
            for (let item = conn.decoder.next(); item; item = conn.decoder.next()) {
              self.handle(socket, item, options);
            }
          } catch (err) {
            options.onProtocolError?.(err instanceof Error ? err : new Error(String(err)));
            if (err instanceof ZmtpError)
              self.write(socket, encodeCommand("ERROR", reason(err.message)), true);
            socket.end();
          }
        },
        drain(socket) {
          self.flush(socket);
        },
        close(socket) {
          self.forget(socket);
        },
        error(socket) {
          self.forget(socket);
        },
      },
    });
  }

  static bind(options: BoundSocketOptions): BoundSocket {
    return new BoundSocket(options);
  }

  get port(): number {
    return this.listener.port;
  }

  /** ROUTER: the first frame names the peer (unknown peers are dropped, as ZeroMQ does). */
  sendTo(frames: readonly Uint8Array[]): boolean {
    const [identity, ...rest] = frames;
    if (!identity) return false;
    const socket = this.byIdentity.get(key(identity));
    if (!socket) {
      this.dropped++;
      return false;
    }
    return this.write(socket, encodeMessage(rest), false);
  }

  /** PUB: to every peer subscribed to a prefix of the first frame. */
  publish(frames: readonly Uint8Array[]): void {
    const topic = frames[0] ?? new Uint8Array(0);
    let bytes: Uint8Array | undefined;
    for (const socket of this.open) {
      const conn = socket.data;
      if (!conn.ready || !conn.subscriptions.some((p) => startsWith(topic, p))) continue;
      bytes ??= encodeMessage(frames);
      this.write(socket, bytes, false);
    }
  }

  /** Number of peers that finished the handshake (and, for PUB, subscribed to something). */
  peers(): number {
    let n = 0;
    for (const s of this.open)
      if (s.data.ready && (this.type !== "PUB" || s.data.subscriptions.length > 0)) n++;
    return n;
  }

  close(): void {
    for (const s of this.open) s.end();
    this.listener.stop(true);
  }

  private handle(socket: Socket<Connection>, item: Incoming, options: BoundSocketOptions): void {
    const conn = socket.data;
    switch (item.kind) {
      case "greeting":
        conn.minor = item.greeting.minor;
        this.write(socket, encodeCommand("READY", encodeMetadata({ "Socket-Type": this.type })), true);
        return;
      case "command":
        this.command(socket, item.name, item.body);
        return;
      case "message":
        if (!conn.ready) throw new ZmtpError("message before the READY handshake");
        this.message(socket, item.frames, options);
        return;
    }
  }

  private command(socket: Socket<Connection>, name: string, body: Uint8Array): void {
    const conn = socket.data;
    switch (name) {
      case "READY": {
        const meta = decodeMetadata(body);
        const peerType = new TextDecoder().decode(meta.get("socket-type") ?? new Uint8Array(0));
        if (!PEERS[this.type].includes(peerType)) {
          throw new ZmtpError(`a ${peerType || "typeless"} socket cannot talk to ${this.type}`);
        }
        const identity = meta.get("identity");
        if (this.type === "ROUTER") {
          conn.identity = identity && identity.length > 0 ? identity.slice() : this.autoIdentity();
          // A reconnecting peer with the same identity takes over (ZMQ_ROUTER_HANDOVER).
          this.byIdentity.set(key(conn.identity), socket);
        }
        conn.ready = true;
        return;
      }
      case "SUBSCRIBE":
        conn.subscriptions.push(body.slice());
        return;
      case "CANCEL":
        removeSubscription(conn.subscriptions, body);
        return;
      case "PING": {
        // Body: 2-byte TTL, then a context the PONG echoes.
        this.write(socket, encodeCommand("PONG", body.subarray(2)), true);
        return;
      }
      case "PONG":
        return;
      case "ERROR":
        socket.end();
        return;
      default:
        // Unknown commands are ignored, as RFC 37 asks.
        return;
    }
  }

  private message(socket: Socket<Connection>, frames: Uint8Array[], options: BoundSocketOptions): void {
    const conn = socket.data;
    if (this.type === "PUB") {
      // ZMTP 3.0 subscriptions: a one-frame message, first byte 1 (subscribe) or 0 (cancel).
      const [only] = frames;
      if (frames.length !== 1 || !only || only.length === 0) return;
      if (only[0] === 1) conn.subscriptions.push(only.slice(1));
      else if (only[0] === 0) removeSubscription(conn.subscriptions, only.subarray(1));
      return;
    }
    if (this.type === "ROUTER") {
      const identity = conn.identity ?? new Uint8Array(0);
      options.onMessage?.([identity, ...frames], (reply) => this.sendTo(reply));
      return;
    }
    // REP: the envelope runs to the first empty frame; the reply goes back with it.
    const split = frames.findIndex((f) => f.length === 0);
    const envelope = split < 0 ? [] : frames.slice(0, split + 1);
    const body = split < 0 ? frames : frames.slice(split + 1);
    options.onMessage?.(body, (reply) => this.write(socket, encodeMessage([...envelope, ...reply]), false));
  }

  private autoIdentity(): Uint8Array {
    const id = new Uint8Array(5);
    new DataView(id.buffer).setUint32(1, this.nextAutoIdentity++);
    return id;
  }

  /** Queues bytes for a connection; control bytes (greeting, commands) are never dropped. */
  private write(socket: Socket<Connection>, bytes: Uint8Array, control: boolean): boolean {
    const conn = socket.data;
    if (!control && conn.queued + bytes.length > MAX_QUEUED_BYTES) {
      this.dropped++;
      return false;
    }
    if (conn.queue.length === 0) {
      const n = socket.write(bytes);
      if (n === bytes.length) return true;
      bytes = bytes.subarray(Math.max(0, n));
    }
    conn.queue.push(bytes);
    conn.queued += bytes.length;
    return true;
  }

  private flush(socket: Socket<Connection>): void {
    const conn = socket.data;
    while (conn.queue.length > 0) {
      const head = conn.queue.length === 1 ? (conn.queue[0] as Uint8Array) : concat(conn.queue.splice(0));
      conn.queue.length = 0;
      const n = socket.write(head);
      if (n < head.length) {
        const rest = head.subarray(Math.max(0, n));
        conn.queue.push(rest);
        conn.queued = rest.length;
        return;
      }
      conn.queued = 0;
    }
  }

  private forget(socket: Socket<Connection>): void {
    this.open.delete(socket);
    const identity = socket.data?.identity;
    if (identity && this.byIdentity.get(key(identity)) === socket) this.byIdentity.delete(key(identity));
  }
}

function key(identity: Uint8Array): string {
  return Buffer.from(identity).toString("hex");
}

function removeSubscription(subscriptions: Uint8Array[], prefix: Uint8Array): void {
  const i = subscriptions.findIndex((s) => s.length === prefix.length && startsWith(s, prefix));
  if (i >= 0) subscriptions.splice(i, 1);
}

function reason(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text).subarray(0, 255);
  return concat([new Uint8Array([bytes.length]), bytes]);
}
