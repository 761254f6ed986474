/** Local TCP ports: pick a free one (tests, the demo's helpers) or check that a given one is free. */

/** A port nothing listens on right now, chosen by the kernel (127.0.0.1). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** True when `port` can be bound on 127.0.0.1 now. */
export function portFree(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}
