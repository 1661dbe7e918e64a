/**
 * `deno task make-model --preset tiny|siam-v0.3 [--fp16] [--seed N] -o model.onnx`
 *
 * Writes a ResEnc-UNet-shaped ONNX model with seeded weights (see
 * scripts/model_builder.ts). The siam-v0.3 preset is ~141M parameters
 * (566 MB fp32, 283 MB fp16): generate it on demand, never commit it.
 *
 * @module
 */
import { scriptArgs } from "./_cli.ts";
import { writeFileAtomic } from "../lib/fsutil.ts";
import { buildResEncUNet, PRESETS } from "./model_builder.ts";

/** Builds and writes a model; returns its parameter count. */
export async function makeModel(preset: string, out: string, fp16 = false, seed = 1): Promise<number> {
  const spec = PRESETS[preset];
  if (!spec) throw new Error(`unknown preset "${preset}" (${Object.keys(PRESETS).join(", ")})`);
  const { bytes, parameters } = buildResEncUNet({ ...spec, fp16, seed });
  await writeFileAtomic(out, bytes);
  return parameters;
}

if (import.meta.main) {
  const usage = "make-model --preset tiny|siam-v0.3 [--fp16] [--seed N] -o model.onnx";
  const { values } = scriptArgs(usage, {
    options: {
      preset: { type: "string", default: "tiny" },
      fp16: { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      output: { type: "string", short: "o" },
    },
  });
  if (!values.output) {
    console.error(`make-model: missing -o model.onnx (usage: ${usage})`);
    Deno.exit(64);
  }
  try {
    const t = performance.now();
    const n = await makeModel(values.preset!, values.output, values.fp16, Number(values.seed));
    const size = (await Deno.stat(values.output)).size;
    console.log(
      `${values.output}: ${values.preset}${values.fp16 ? " fp16" : ""}, ${(n / 1e6).toFixed(2)}M parameters, ` +
        `${(size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(`make_model: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
