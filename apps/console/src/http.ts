/**
 * Request validation shared by the routes, on hono's validator: a JSON object body, and the job
 * filter and paging parameters. Anything invalid is a 400 naming what was wrong.
 */
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";

export class BodyError extends Error {
  override readonly name = "BodyError";
}

/** A JSON object body (Content-Type: application/json). */
export const jsonObject = validator("json", (value, c) => {
  if (!/^application\/([\w.-]+\+)?json\b/i.test(c.req.header("content-type") ?? ""))
    throw new BodyError("send the body as JSON (Content-Type: application/json)");
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new BodyError("the body must be a JSON object");
  return value as Record<string, unknown>;
});

/** A job name from a query parameter, or undefined when absent. */
export function jobName(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^[a-z0-9_.-]{1,200}$/.test(value))
    throw new HTTPException(400, { message: "job: expected a job name" });
  return value;
}

/** An integer query parameter within [min, max], or `fallback` when absent. */
export function intParam(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HTTPException(400, { message: `${name}: expected ${min} to ${max}` });
  return n;
}
