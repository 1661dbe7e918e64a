/**
 * Error types with the exit codes the CLI maps them to.
 *
 * @module
 */

/** Exit code for command-line usage errors (BSD `EX_USAGE`). */
export const EXIT_USAGE = 64;
/** Exit code for input that is missing or cannot be read (`EX_NOINPUT`). */
export const EXIT_NOINPUT = 66;
/** Exit code for input that exists but is malformed (`EX_DATAERR`). */
export const EXIT_DATAERR = 65;
/** Exit code for a failure while running (default). */
export const EXIT_FAILURE = 1;

/**
 * An error whose message is one line meant for the user, with an exit code.
 *
 * @example
 * ```ts
 * import { SiamizeError } from "./errors.ts";
 *
 * const e = new SiamizeError("model fold_0_fp16.onnx is not in the cache", 66);
 * console.log(e.exitCode); // 66
 * ```
 */
export class SiamizeError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  /** Creates an error; `message` must be one line. */
  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = "SiamizeError";
    this.exitCode = exitCode;
  }
}

/**
 * A bad command line: unknown flag, missing or malformed value (exit 64).
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 *
 * console.log(new UsageError("unknown option --x").exitCode); // 64
 * ```
 */
export class UsageError extends SiamizeError {
  /** Creates a usage error (exit code 64). */
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/**
 * A file that is missing, unreadable or malformed; the message names it.
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 *
 * console.log(new InputError("T1.nii", "empty file").message); // "T1.nii: empty file"
 * ```
 */
export class InputError extends SiamizeError {
  /** The file at fault. */
  readonly path: string;
  /** Creates an error `"<path>: <problem>"`. */
  constructor(path: string, problem: string, exitCode: number = EXIT_DATAERR, options?: ErrorOptions) {
    super(`${path}: ${problem}`, exitCode, options);
    this.name = "InputError";
    this.path = path;
  }
}

/**
 * A value as an error message may show it: quoted when short (at most
 * `max` characters) and printable ASCII, else only its length, so that a
 * secret (a token file given where a list was expected) is never echoed.
 *
 * @example
 * ```ts
 * import { shownValue } from "./errors.ts";
 *
 * console.log(shownValue("sub 01")); // "sub 01" (quoted)
 * console.log(shownValue("ghp_0123456789abcdefghijklmnopqrstuvwxyz")); // (a 40-character value)
 * ```
 */
export function shownValue(v: unknown, max = 24): string {
  if (typeof v === "string" && v.length <= max && /^[\x20-\x7e]*$/.test(v)) return JSON.stringify(v);
  return typeof v === "string" ? `(a ${v.length}-character value)` : `(a ${v === null ? "null" : typeof v})`;
}
