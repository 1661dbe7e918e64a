/**
 * `deno task make-model --preset tiny|siam-v0.3|segresnet|hnoseg-xs|sam-tiny|sam-vit-b [--fp16] [--seed N] -o model.onnx [--overwrite]`
 *
 * Writes a ResEnc-UNet-shaped ONNX model with seeded weights (see
 * scripts/model_builder.ts). The siam-v0.3 preset is ~141M parameters
 * (566 MB fp32, 283 MB fp16): generate it on demand, never commit it.
 * `segresnet` and `hnoseg-xs` build other networks' shapes (see
 * scripts/network_presets.ts; float32 only); `--weights W.onnx` fills them
 * with real weights by state-dict name (scripts/export_*.py write W.onnx).
 * `sam-tiny` and `sam-vit-b` write two files, SAM's image encoder and
 * prompt decoder (see `sam_builder.ts`): `-o NAME.onnx` gives
 * `NAME_encoder.onnx` and `NAME_decoder.onnx`; `-o FOLDER/` gives the
 * SAMRI card's names there (`samri_vit_b_encoder.onnx`, …), e.g. the weights
 * cache, where `siamize prompt` finds them without `-M`.
 *
 * @module
 */
import { scriptArgs } from "../_cli.ts";
import { exists, writeFileAtomic } from "../../lib/core/fsutil.ts";
import { enterUserFolder } from "../../lib/cli/user_folder.ts";
import { buildResEncUNet, PRESETS } from "./model_builder.ts";
import { NETWORK_PRESETS, weightsFromOnnx } from "./network_presets.ts";
import { buildSamDecoder, buildSamEncoder, SAM_TINY, SAM_VIT_B } from "./sam_builder.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { join } from "../../lib/core/_std.ts";

/** The two prompt-model presets: their encoder specs. */
const SAM_PRESETS = { "sam-tiny": SAM_TINY, "sam-vit-b": SAM_VIT_B };

/** Where `-o` puts a SAM preset's two files (see the module notes). */
export function samPaths(out: string, isFolder: boolean): [string, string] {
  if (isFolder || out.endsWith("/")) {
    return [join(out, SAMRI_VIT_B.networks.encoder.file), join(out, SAMRI_VIT_B.networks.decoder.file)];
  }
  const stem = out.replace(/\.onnx$/i, "");
  return [`${stem}_encoder.onnx`, `${stem}_decoder.onnx`];
}

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
  if (preset in SAM_PRESETS) {
    if (fp16 || weights) throw new Error(`--fp16 and --weights are not available for preset "${preset}"`);
    const isFolder = await Deno.stat(out).then((s) => s.isDirectory, () => false);
    const [encPath, decPath] = samPaths(out, isFolder);
    const enc = buildSamEncoder(SAM_PRESETS[preset as keyof typeof SAM_PRESETS], seed);
    await writeFileAtomic(encPath, enc.bytes);
    const dec = buildSamDecoder(seed + 1);
    await writeFileAtomic(decPath, dec.bytes);
    return enc.parameters + dec.parameters;
  }
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
      `unknown preset "${preset}" (${
        [...Object.keys(PRESETS), ...Object.keys(NETWORK_PRESETS), ...Object.keys(SAM_PRESETS)].join(", ")
      })`,
    );
  }
  const { bytes, parameters } = buildResEncUNet({ ...spec, fp16, seed });
  await writeFileAtomic(out, bytes);
  return parameters;
}

/** The usage of `deno task make-model`, naming every preset. */
export const MAKE_MODEL_USAGE =
  `make-model --preset NAME [--fp16] [--seed N] [--weights W.onnx] -o model.onnx [--overwrite]
  --preset NAME     ${
    [...Object.keys(PRESETS), ...Object.keys(NETWORK_PRESETS), ...Object.keys(SAM_PRESETS)].join(", ")
  } (default tiny; sam-* write an encoder and a decoder: -o NAME.onnx gives NAME_encoder.onnx and NAME_decoder.onnx, or a folder)
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
  const files = values.preset! in SAM_PRESETS
    ? samPaths(values.output, await Deno.stat(values.output).then((s) => s.isDirectory, () => false))
    : [values.output];
  for (const f of files) {
    if (!values.overwrite && !values.force && await exists(f)) {
      console.error(`make-model: ${f}: already exists (use --overwrite to replace it)`);
      Deno.exit(73);
    }
  }
  try {
    const t = performance.now();
    const n = await makeModel(values.preset!, values.output, values.fp16, Number(values.seed), values.weights);
    let size = 0;
    for (const f of files) size += (await Deno.stat(f)).size;
    console.log(
      `${files.join(", ")}: ${values.preset}${values.fp16 ? " fp16" : ""}, ${(n / 1e6).toFixed(2)}M parameters, ` +
        `${(size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(`make-model: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
