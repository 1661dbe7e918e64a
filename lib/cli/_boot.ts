/**
 * Evaluated first by `cli.ts` (its first import), before any other module
 * runs: re-executes the command with glibc's allocator tuned (see `malloc_tuning.ts`) when
 * `cli.ts` is the main program, not when it is imported.
 *
 * @module
 */
import { reexecWithMallocTuning } from "./malloc_tuning.ts";

// The checkout's root (not an import of cli.ts: this module runs before it).
const root = new URL("../..", import.meta.url).href.replace(/\/$/, "");
if (Deno.mainModule === `${root}/cli.ts`) reexecWithMallocTuning();
