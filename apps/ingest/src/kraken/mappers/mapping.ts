/** The typed contract every mapper follows: records it could build, and what it rejected and why. */

export interface Rejection {
  /** Human-readable reason, naming the field and the value that was wrong. */
  readonly reason: string;
  /** Position of the rejected item inside the frame or page, when the frame itself was readable. */
  readonly index?: number;
}

export interface Mapped<T> {
  readonly records: readonly T[];
  readonly rejections: readonly Rejection[];
}

/** Thrown by field readers; the mapper turns it into a Rejection. */
export class MappingError extends Error {
  override readonly name = "MappingError";
}

export function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_k, v) => (typeof v === "object" && v && "text" in v ? v.text : v));
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}
