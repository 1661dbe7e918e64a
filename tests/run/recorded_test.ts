/**
 * Today's outputs of fixed runs, recorded in `tests/golden/recorded/`, must
 * stay: labels voxel for voxel, sampled probabilities within 1e-5, per-class
 * probability sums within 1e-5 relative, dims and affines exactly. Uses the
 * public API only (see `_recorded_cases.ts`); re-record with
 * `deno run -A scripts/record_runs.ts --write`.
 *
 * @module
 */
import { CASES, compareRecord, makeModels, modelHashes, type Models, readRecord, runCase } from "./_recorded_cases.ts";

let models: Promise<Models> | undefined;
let dir: string | undefined;
/** The generated models, written once into a temp folder (removed when the process ends). */
function generated(): Promise<Models> {
  return models ??= (async () => {
    const made = await Deno.makeTempDir({ prefix: "siamize-recorded-" });
    dir = made;
    return await makeModels(made);
  })();
}
globalThis.addEventListener("unload", () => {
  if (!dir) return;
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* gone */ }
});

for (const c of CASES) {
  Deno.test(`recorded run ${c.name}: ${c.what}`, async () => {
    const m = await generated();
    const rec = await readRecord(c.name);
    const r = await runCase(c, m);
    const problems = compareRecord(rec, r, await modelHashes(c, m));
    if (problems.length) throw new Error(`differs from tests/golden/recorded/${c.name}.json:\n${problems.join("\n")}`);
  });
}
