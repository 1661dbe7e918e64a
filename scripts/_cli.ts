/**
 * Command lines of the scripts (`deno task bench|regress|make-model|fetch-weights`):
 * `-h`/`--help` prints the usage and exits 0; an unknown option or a missing
 * value prints one line and exits 64 — never a stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "../lib/core/_std.ts";

/** Exit code of a bad command line (`EX_USAGE`). */
export const EXIT_USAGE = 64;

/** Options of {@linkcode scriptArgs}. */
export interface ScriptArgsOptions {
  /** The arguments. @default Deno.args */
  args?: string[];
  /** Where usage goes. @default console.log */
  out?: (s: string) => void;
  /** Where errors go. @default console.error */
  err?: (s: string) => void;
  /** How to leave. @default Deno.exit */
  exit?: (code: number) => never;
}

/**
 * `node:util` `parseArgs` on the script's own `config` (strict unless it
 * says otherwise), with `-h`/`--help` first: prints `usage` and exits 0 on
 * help, one line naming the problem and exit 64 on a bad command line.
 * `usage`'s first word names the script in messages.
 */
export function scriptArgs<T extends Omit<NonNullable<ParseArgsConfig>, "args">>(
  usage: string,
  config: T,
  o: ScriptArgsOptions = {},
): ReturnType<typeof parseArgs<T & { args: string[] }>> {
  const args = o.args ?? Deno.args;
  const out = o.out ?? ((s) => console.log(s));
  const err = o.err ?? ((s) => console.error(s));
  const exit = o.exit ?? ((c) => Deno.exit(c));
  const name = usage.trim().replace(/^usage:\s*/i, "").split(/\s/)[0];
  const end = args.indexOf("--");
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === "-h" || a === "--help")) {
    out(usage.trim());
    return exit(0);
  }
  try {
    return parseArgs({ ...config, args });
  } catch (e) {
    err(`${name}: ${(e as Error).message.split("\n")[0].replace(/\. To specify.*$/, "")} (see --help)`);
    return exit(EXIT_USAGE);
  }
}
