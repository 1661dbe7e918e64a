/**
 * `deno task fetch-weights [FOLDS…]` — pre-stages fold weights in the cache
 * for offline use (default: all five), and reports what it fetched, skipped
 * (already valid) and failed. Folds: digits, `all`, or file names.
 *
 * Environment: `SIAMIZE_CACHE_DIR`, `SIAMIZE_WEIGHTS_BASE_URL` (see README).
 *
 * @module
 */
import { enterUserFolder } from "../lib/cli/user_folder.ts";
import { progressPrinter } from "../lib/cards/download.ts";
import { scriptArgs } from "./_cli.ts";
import { SiamizeError } from "../lib/core/errors.ts";
import { SIAM_V03 } from "../lib/cards/shipped.ts";
import { cacheDir } from "../lib/core/cache_dir.ts";
import { fetchModel, resolveModels, validateOnnx } from "../lib/cards/weights.ts";

/** Outcome per file. */
export interface FetchSummary {
  fetched: string[];
  skipped: string[];
  failed: { name: string; why: string }[];
}

/** Fetches the given folds into the cache; never throws for one bad fold. */
export async function fetchWeights(specs: string[], log: (s: string) => void, quiet = false): Promise<FetchSummary> {
  const card = SIAM_V03;
  const models = resolveModels(specs.length ? specs : ["all"], card, cacheDir()).filter((m) => m.fromCache);
  const out: FetchSummary = { fetched: [], skipped: [], failed: [] };
  const printer = quiet
    ? undefined
    : progressPrinter((t) => Deno.stderr.writeSync(new TextEncoder().encode(t)), Deno.stderr.isTerminal());
  for (const m of models) {
    try {
      let present = false;
      try {
        await Deno.stat(m.path);
        present = true;
      } catch { /* not there */ }
      if (present) {
        try {
          await validateOnnx(m.path, card);
          out.skipped.push(m.name);
          continue;
        } catch (e) {
          log(`${m.path}: invalid (${(e as Error).message}); downloading again`);
          await Deno.remove(m.path);
        }
      }
      await fetchModel(m, card, { onProgress: printer, log });
      out.fetched.push(m.name);
    } catch (e) {
      out.failed.push({ name: m.name, why: e instanceof SiamizeError ? e.message : String(e) });
    }
  }
  return out;
}

if (import.meta.main) {
  enterUserFolder(); // relative paths mean the folder the user typed the command in
  const { values, positionals: specs } = scriptArgs(
    `fetch-weights [-q] [FOLDS…]
  Pre-stages SIAM fold weights in the cache for offline use (default: all five).
  FOLDS: digits 0-4, "all", or file names. -q: no progress.
  Environment: SIAMIZE_CACHE_DIR, SIAMIZE_WEIGHTS_BASE_URL (see README).`,
    { options: { quiet: { type: "boolean", short: "q" } }, allowPositionals: true },
  );
  const quiet = values.quiet === true;
  try {
    const s = await fetchWeights(specs, (l) => console.error(l), quiet);
    console.log(`cache ${cacheDir()}`);
    console.log(`fetched: ${s.fetched.join(", ") || "none"}`);
    console.log(`skipped (already valid): ${s.skipped.join(", ") || "none"}`);
    console.log(`failed: ${s.failed.map((f) => f.name).join(", ") || "none"}`);
    for (const f of s.failed) console.error(`  ${f.why}`);
    Deno.exit(s.failed.length ? 1 : 0);
  } catch (e) {
    console.error(`fetch-weights: ${(e as Error).message}`);
    Deno.exit(e instanceof SiamizeError ? e.exitCode : 1);
  }
}
