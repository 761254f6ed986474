/**
 * The recorded Kraken fixtures (`../shared/fixtures/kraken`), loaded with their bodies as the exact
 * bytes that were recorded: number tokens, `\/` escapes and key order untouched.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { rawObjectMembers } from "../kraken/lossless-json.ts";

/** Default location: `<repo>/../shared/fixtures/kraken`. */
export const DEFAULT_FIXTURES_DIR = resolve(import.meta.dir, "../../../../../shared/fixtures/kraken");

export interface RestFixture {
  readonly id: string;
  readonly endpoint: string;
  readonly path: string | undefined;
  readonly query: Readonly<Record<string, string>>;
  readonly httpStatus: number;
  readonly genuineness: string;
  /** The HTTP body exactly as recorded. */
  readonly body: string;
}

export interface WsFixture {
  readonly id: string;
  readonly kind: string;
  readonly direction: "recv" | "send";
  readonly genuineness: string;
  /** The message exactly as recorded. */
  readonly msg: string;
}

export const REST_FIXTURE_FILES = [
  "rest_assetpairs.jsonl",
  "rest_trades.jsonl",
  "rest_ticker.jsonl",
  "rest_ohlc.jsonl",
  "rest_depth.jsonl",
  "rest_time_systemstatus.jsonl",
  "rest_errors.jsonl",
] as const;

/** Why the fixture files in `dir` cannot be read (the first problem, one line), or undefined. */
export function missingFixtures(dir: string): string | undefined {
  for (const name of [...REST_FIXTURE_FILES, "ws_v2_messages.jsonl"]) {
    try {
      accessSync(join(dir, name), constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "ENOENT"
        ? `${name} not found (a directory holding Kraken's recorded fixtures is expected)`
        : `${name} is not readable (${code ?? (err as Error).message})`;
    }
  }
  return undefined;
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0);
}

export function loadRestFixtures(dir = DEFAULT_FIXTURES_DIR): RestFixture[] {
  const out: RestFixture[] = [];
  for (const name of REST_FIXTURE_FILES) {
    for (const line of lines(join(dir, name))) {
      const meta = JSON.parse(line) as {
        id: string;
        endpoint: string;
        request: { path?: string; query?: Record<string, string> } | null;
        http_status: number;
        genuineness: string;
      };
      const body = rawObjectMembers(line).get("body");
      if (body === undefined) throw new Error(`${name}: record ${meta.id} has no body`);
      out.push({
        id: meta.id,
        endpoint: meta.endpoint,
        path: meta.request?.path,
        query: meta.request?.query ?? {},
        httpStatus: meta.http_status,
        genuineness: meta.genuineness,
        body,
      });
    }
  }
  return out;
}

export function loadWsV2Fixtures(dir = DEFAULT_FIXTURES_DIR): WsFixture[] {
  return lines(join(dir, "ws_v2_messages.jsonl")).map((line) => {
    const meta = JSON.parse(line) as {
      id: string;
      kind: string;
      direction: "recv" | "send";
      genuineness: string;
    };
    const msg = rawObjectMembers(line).get("msg");
    if (msg === undefined) throw new Error(`ws_v2_messages.jsonl: record ${meta.id} has no msg`);
    return { id: meta.id, kind: meta.kind, direction: meta.direction, genuineness: meta.genuineness, msg };
  });
}

export function restFixture(fixtures: readonly RestFixture[], id: string): RestFixture {
  const f = fixtures.find((x) => x.id === id);
  if (!f) throw new Error(`no REST fixture with id ${id}`);
  return f;
}

/** The recorded WS v2 `book` stream (BTC/USD, depth 10: 1 snapshot + 509 updates, every checksum valid). */
export const BOOK_CAPTURE_FILE = "ws_v2_book_btcusd_depth10_capture_2023-07-30.jsonl";

/** The recorded book frames, one per line, exactly as recorded. */
export function loadBookCapture(dir = DEFAULT_FIXTURES_DIR): string[] {
  return lines(join(dir, BOOK_CAPTURE_FILE));
}
