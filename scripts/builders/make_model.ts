/**
 * `deno task make-model --preset tiny|siam-v0.3|segresnet|hnoseg-xs [--fp16] [--seed N] -o model.onnx [--overwrite]`
 *
 * Writes a ResEnc-UNet-shaped ONNX model with seeded weights (see
 * scripts/model_builder.ts). The siam-v0.3 preset is ~141M parameters
 * (566 MB fp32, 283 MB fp16): generate it on demand, never commit it.
 * `segresnet` and `hnoseg-xs` build other networks' shapes (see
 * scripts/network_presets.ts; float32 only); `--weights W.onnx` fills them
 * with real weights by state-dict name (scripts/export_*.py write W.onnx).
 *
 * @module
 */
import { scriptArgs } from "../_cli.ts";
import { exists, writeFileAtomic } from "../../lib/core/fsutil.ts";
import { enterUserFolder } from "../../lib/cli/user_folder.ts";
import { buildResEncUNet, PRESETS } from "./model_builder.ts";
import { NETWORK_PRESETS, weightsFromOnnx } from "./network_presets.ts";

/**
 * Builds and writes a model; returns its parameter count. `weights` (presets
 * of `network_presets.ts` only): an ONNX file whose initialisers carry the
 * network's state-dict names, used instead of seeded weights.
 */
export async function makeModel(
  preset: string,
  out: string,
  fp16 = false,
  seed = 1,
  weights?: string,
): Promise<number> {
  const other = NETWORK_PRESETS[preset];
  if (weights && !other) throw new Error(`--weights is not available for preset "${preset}"`);
  if (other) {
    if (fp16) throw new Error(`--fp16 is not available for preset "${preset}"`);
    const source = weights ? weightsFromOnnx(await Deno.readFile(weights), weights) : undefined;
    const { bytes, parameters } = other(seed, source);
    await writeFileAtomic(out, bytes);
    return parameters;
  }
  const spec = PRESETS[preset];
  if (!spec) {
    throw new Error(
      `unknown preset "${preset}" (${[...Object.keys(PRESETS), ...Object.keys(NETWORK_PRESETS)].join(", ")})`,
    );
  }
  const { bytes, parameters } = buildResEncUNet({ ...spec, fp16, seed });
  await writeFileAtomic(out, bytes);
  return parameters;
}

/** The usage of `deno task make-model`, naming every preset. */
export const MAKE_MODEL_USAGE =
  `make-model --preset NAME [--fp16] [--seed N] [--weights W.onnx] -o model.onnx [--overwrite]
  --preset NAME     ${[...Object.keys(PRESETS), ...Object.keys(NETWORK_PRESETS)].join(", ")} (default tiny)
  --fp16            store the weights as float16 (tiny, siam-v0.3)
  --seed N          seed of the generated weights (default 1)
  --weights W.onnx  real weights by state-dict name (segresnet, hnoseg-xs; scripts/export/*.py write W.onnx)
  -o, --output F    the model to write; a relative path means the folder the command was typed in
  --overwrite       replace an existing file (also -f, --force); without it an existing file exits 73`;

if (import.meta.main) {
  enterUserFolder(); // relative paths mean the folder the user typed `deno task make-model` in
  const { values } = scriptArgs(MAKE_MODEL_USAGE, {
    options: {
      preset: { type: "string", default: "tiny" },
      fp16: { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      output: { type: "string", short: "o" },
      weights: { type: "string" },
      overwrite: { type: "boolean", default: false },
      force: { type: "boolean", short: "f", default: false },
    },
  });
  if (!values.output) {
    console.error("make-model: missing -o model.onnx (see --help)");
    Deno.exit(64);
  }
  if (!values.overwrite && !values.force && await exists(values.output)) {
    console.error(`make-model: ${values.output}: already exists (use --overwrite to replace it)`);
    Deno.exit(73);
  }
  try {
    const t = performance.now();
    const n = await makeModel(values.preset!, values.output, values.fp16, Number(values.seed), values.weights);
    const size = (await Deno.stat(values.output)).size;
    console.log(
      `${values.output}: ${values.preset}${values.fp16 ? " fp16" : ""}, ${(n / 1e6).toFixed(2)}M parameters, ` +
        `${(size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(`make-model: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
