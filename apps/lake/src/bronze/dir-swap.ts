/**
 * Atomic exchange of two directories (Linux `renameat2(…, RENAME_EXCHANGE)` through bun:ffi): a
 * reader listing either path sees the complete old or the complete new contents, never a mix.
 * `undefined` where the call is unavailable (other OS, old libc); callers then fall back.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

type Swap = (a: string, b: string) => void;

function load(): Swap | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const libc = dlopen("libc.so.6", {
      renameat2: {
        args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.cstring, FFIType.u32],
        returns: FFIType.i32,
      },
    });
    return (a, b) => {
      const pa = Buffer.from(`${a}\0`);
      const pb = Buffer.from(`${b}\0`);
      const rc = libc.symbols.renameat2(AT_FDCWD, ptr(pa), AT_FDCWD, ptr(pb), RENAME_EXCHANGE);
      if (rc !== 0) throw new Error(`renameat2(RENAME_EXCHANGE) failed for ${a} and ${b}`);
    };
  } catch {
    return undefined;
  }
}

/** Swaps two existing directories atomically, or is `undefined` on this platform. */
export const exchangeDirs: Swap | undefined = load();
