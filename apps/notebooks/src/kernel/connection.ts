/** The connection file Jupyter hands a kernel (`{connection_file}` in kernel.json), checked field by field. */
import { readFileSync } from "node:fs";

export interface ConnectionInfo {
  readonly transport: "tcp";
  readonly ip: string;
  readonly shell_port: number;
  readonly iopub_port: number;
  readonly stdin_port: number;
  readonly control_port: number;
  readonly hb_port: number;
  readonly key: string;
  readonly signature_scheme: string;
}

export class ConnectionFileError extends Error {
  override readonly name = "ConnectionFileError";
}

const PORTS = ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"] as const;

export function parseConnection(text: string, source = "connection file"): ConnectionInfo {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConnectionFileError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const transport = raw.transport ?? "tcp";
  if (transport !== "tcp")
    throw new ConnectionFileError(`${source}: transport ${String(transport)} is not supported (tcp only)`);
  const ip = raw.ip ?? "127.0.0.1";
  if (typeof ip !== "string" || ip === "")
    throw new ConnectionFileError(`${source}: ip must be a host address`);
  const ports: Record<string, number> = {};
  for (const name of PORTS) {
    const port = raw[name];
    if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConnectionFileError(`${source}: ${name} must be a TCP port, got ${JSON.stringify(port)}`);
    }
    ports[name] = port;
  }
  const key = raw.key ?? "";
  if (typeof key !== "string") throw new ConnectionFileError(`${source}: key must be a string`);
  const scheme = raw.signature_scheme ?? "hmac-sha256";
  if (scheme !== "hmac-sha256") {
    throw new ConnectionFileError(
      `${source}: signature_scheme ${String(scheme)} is not supported (hmac-sha256 only)`,
    );
  }
  return {
    transport: "tcp",
    ip,
    ...(ports as Pick<ConnectionInfo, (typeof PORTS)[number]>),
    key,
    signature_scheme: scheme,
  };
}

export function readConnection(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConnectionFileError(`cannot read connection file ${path}: ${(err as Error).message}`);
  }
  return parseConnection(text, path);
}
