/** Kraken failures, split by what the caller must do about them. */

/** Why a Kraken call failed; `retryable` decides between backing off and stopping. */
export type KrakenFailureKind =
  /** `EAPI:Rate limit exceeded`, `EGeneral:Too many requests`, `EGeneral:Temporary lockout`, HTTP 429. */
  | "rate_limit"
  /** `EService:*`, `EGeneral:Internal error`, HTTP 5xx, HTML or other non-JSON answers from the edge. */
  | "service"
  /** Network failure or timeout before any answer. */
  | "transport"
  /** HTTP 200 whose body is not a Kraken envelope (quarantined and retried). */
  | "invalid_body"
  /** `EQuery:Unknown asset pair` and similar: the configuration is wrong, retrying cannot help. */
  | "config"
  /** Any other `E…` error (e.g. `EGeneral:Invalid arguments`): the request is wrong. */
  | "request";

export class KrakenError extends Error {
  override readonly name: string = "KrakenError";
  constructor(
    readonly kind: KrakenFailureKind,
    message: string,
    readonly details: {
      readonly status?: number;
      readonly errors?: readonly string[];
      readonly body?: string;
      /** From a `Retry-After` header on HTTP 429. */
      readonly retryAfterMs?: number;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get retryable(): boolean {
    return (
      this.kind === "rate_limit" ||
      this.kind === "service" ||
      this.kind === "transport" ||
      this.kind === "invalid_body"
    );
  }
}

/** A configuration problem (unknown pair, refused symbol): the ingester stops with this message. */
export class KrakenConfigError extends KrakenError {
  override readonly name = "KrakenConfigError";
  constructor(message: string, details: KrakenError["details"] = {}) {
    super("config", message, details);
  }
}

const RATE_LIMIT = new Set([
  "EAPI:Rate limit exceeded",
  "EGeneral:Too many requests",
  "EGeneral:Temporary lockout",
]);

/** Classifies Kraken's `error` strings (format `<E|W><Category>:<Message>[:<extra>]`). */
export function classifyApiErrors(errors: readonly string[]): KrakenFailureKind {
  const real = errors.filter((e) => e.startsWith("E"));
  if (real.some((e) => e.startsWith("EQuery:Unknown asset pair"))) return "config";
  if (real.some((e) => RATE_LIMIT.has(e) || e.startsWith("EAPI:Rate limit"))) return "rate_limit";
  if (real.some((e) => e.startsWith("EService:") || e === "EGeneral:Internal error")) return "service";
  return "request";
}

/** Classifies a non-200 HTTP status (Cloudflare answers with 429 or 5xx/52x and an HTML body). */
export function classifyHttpStatus(status: number): KrakenFailureKind {
  if (status === 429) return "rate_limit";
  if (status >= 500) return "service";
  if (status === 408) return "transport";
  return "request";
}
