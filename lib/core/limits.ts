/**
 * Resource ceilings for reading untrusted files: how many bytes of image
 * data a file may declare (`SIAMIZE_MAX_INPUT_BYTES`, default 8 GiB), how
 * deep JSON / BJData may nest, and the short `1.5 GiB` texts their errors
 * use. Checked before anything is allocated, so a tiny hostile header
 * cannot make a run take the machine's memory.
 *
 * @module
 */
import { EXIT_NOINPUT, InputError } from "./errors.ts";
import { errorText } from "./fsutil.ts";

/** Default ceiling of voxel bytes one input (or one working grid) may need: 8 GiB. */
export const DEFAULT_MAX_INPUT_BYTES = 8 * 2 ** 30;

/** The environment variable that raises (or lowers) {@linkcode maxInputBytes}. */
export const MAX_INPUT_ENV = "SIAMIZE_MAX_INPUT_BYTES";

/** Deepest nesting of arrays/objects a JSON or BJData document may have. */
export const MAX_NESTING = 256;

/**
 * The ceiling of bytes of voxel data one input file may declare, and of
 * the working grid's memory: `SIAMIZE_MAX_INPUT_BYTES` (bytes; a `K`, `M`,
 * `G` or `T` suffix means KiB … TiB) when set and valid, else 8 GiB.
 */
export function maxInputBytes(): number {
  let v: string | undefined;
  try {
    v = Deno.env.get(MAX_INPUT_ENV);
  } catch {
    return DEFAULT_MAX_INPUT_BYTES; // no env permission: the default
  }
  return parseByteSize(v) ?? DEFAULT_MAX_INPUT_BYTES;
}

/** `"8G"` → 8 GiB, `"1000"` → 1000; undefined for anything else. */
export function parseByteSize(v: string | undefined): number | undefined {
  const m = v?.trim().match(/^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i);
  if (!m) return undefined;
  const n = Number(m[1]) * 1024 ** " kmgt".indexOf(m[2].toLowerCase() || " ");
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** `1.5 GiB`, `12.0 MiB`, `512 bytes`, for messages. */
export function bytesText(n: number): string {
  if (!Number.isFinite(n)) return "an unbounded amount";
  if (n >= 2 ** 60) return `${n.toExponential(1)} bytes`;
  if (n >= 2 ** 40) return `${(n / 2 ** 40).toFixed(1)} TiB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** The clause every "too large" error ends with: how to raise the ceiling. */
export function ceilingText(): string {
  return `the limit is ${bytesText(maxInputBytes())} (set ${MAX_INPUT_ENV} to raise it)`;
}

/**
 * The deepest nesting of arrays and objects in JSON text, by one pass over
 * the characters (strings skipped), so that a document nested 100k deep is
 * refused before `JSON.parse` or a recursive walk could overflow the stack.
 * Stops counting once `limit` is passed.
 */
export function jsonDepth(text: string, limit: number = MAX_NESTING): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * `JSON.parse` for untrusted text: a `SyntaxError`-like `Error` with a
 * clear message when the text nests deeper than {@linkcode MAX_NESTING}.
 */
export function parseJsonBounded(text: string, limit: number = MAX_NESTING): unknown {
  if (jsonDepth(text, limit) > limit) throw new Error(`JSON nested deeper than ${limit} levels`);
  return JSON.parse(text);
}

/** Room for headers and extensions beside the voxel bytes the ceiling counts: 64 MiB. */
export const HEADER_SLACK = 64 * 2 ** 20;

/**
 * Refuses an input that is not a regular file (a folder, a device such as
 * `/dev/zero`, a FIFO, a socket: exit 66) or is larger than
 * {@linkcode maxInputBytes} plus {@linkcode HEADER_SLACK} (exit 65), before
 * it is opened; `what` names the format expected.
 */
export async function checkInputFile(path: string, what: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    throw new InputError(path, `cannot read (${errorText(e)})`, EXIT_NOINPUT, { cause: e });
  }
  if (st.isDirectory) throw new InputError(path, `is a directory, not a ${what} file`, EXIT_NOINPUT);
  if (!st.isFile) {
    throw new InputError(path, `is not a regular file (a device, FIFO or socket); give a ${what} file`, EXIT_NOINPUT);
  }
  if (st.size > maxInputBytes() + HEADER_SLACK) {
    throw new InputError(path, `file of ${bytesText(st.size)} is too large to read; ${ceilingText()}`);
  }
}
