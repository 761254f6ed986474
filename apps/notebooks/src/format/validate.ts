/**
 * Validates notebooks against the official nbformat v4.5 JSON schema (draft-04), vendored from the
 * nbformat package (BSD-3-Clause) as `nbformat.v4.5.schema.json`.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import Ajv from "ajv-draft-04";
import schema from "./nbformat.v4.5.schema.json" with { type: "json" };

export interface ValidationResult {
  readonly valid: boolean;
  /** One line per problem: `<JSON pointer> <message>`. */
  readonly errors: readonly string[];
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    // strict off: the upstream schema uses keywords (e.g. "definitions" siblings) strict mode rejects.
    const ajv = new Ajv({ allErrors: true, strict: false });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

export function validateNotebook(nb: unknown): ValidationResult {
  const validate = validator();
  const valid = validate(nb) === true;
  return { valid, errors: (validate.errors ?? []).map(describe) };
}

function describe(e: ErrorObject): string {
  return `${e.instancePath || "/"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`;
}
