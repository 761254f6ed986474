/**
 * Path confinement: every path the console touches on behalf of a request is built from validated
 * names under a root, resolved, and checked to stay inside it (symlinks included).
 */
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";

export class PathError extends Error {
  override readonly name = "PathError";
}

/** Dataset, partition and notebook names: letters, digits and `_ . = -`, never `.` or `..`. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.=-]{0,199}$/;

export function checkSegment(segment: string, what: string): string {
  if (!SEGMENT.test(segment) || segment.includes("..")) {
    throw new PathError(
      `${what} ${JSON.stringify(segment.slice(0, 80))} is not a valid name (letters, digits, _ . = -)`,
    );
  }
  return segment;
}

/** True when `path` is `root` or inside it (lexically, after resolving `.` and `..`). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(root, path));
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Joins validated segments under `root`; throws unless the real path stays inside the real root. */
export function confine(root: string, segments: readonly string[], what = "path"): string {
  for (const s of segments) checkSegment(s, what);
  const path = resolve(root, ...segments);
  if (!isInside(root, path)) throw new PathError(`${what} escapes its root`);
  if (existsSync(path)) {
    const realRoot = realpathSync(root);
    const real = realpathSync(path);
    if (!isInside(realRoot, real)) throw new PathError(`${what} leads outside its root through a link`);
  }
  return path;
}
