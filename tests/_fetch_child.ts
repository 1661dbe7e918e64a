/**
 * Child process for the download tests: resolves `-M` entries against the
 * SIAM card and fetches them; prints "downloaded" or "present".
 *
 * @module
 */
import { SiamizeError } from "../lib/core/errors.ts";
import { SIAM_V03 } from "../lib/cards/shipped.ts";
import { cacheDir } from "../lib/core/cache_dir.ts";
import { fetchModel, resolveModels } from "../lib/cards/weights.ts";

try {
  for (const m of resolveModels(Deno.args, SIAM_V03, cacheDir())) {
    console.log(await fetchModel(m, SIAM_V03, { attempts: 3, backoffMs: 20 }));
  }
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(e instanceof SiamizeError ? e.exitCode : 1);
}
