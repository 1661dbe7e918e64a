/**
 * Tiny generated models for tests (written once per process into a temp
 * folder, removed when the process ends).
 *
 * @module
 */
import { join } from "../lib/_std.ts";
import { buildResEncUNet, PRESETS } from "../scripts/model_builder.ts";

let dir: string | undefined;

/** Path of a tiny ResEnc-UNet (fp32 or fp16, given seed), generated on first use. */
export async function tinyModel(fp16 = false, seed = 7): Promise<string> {
  if (!dir) {
    const made = await Deno.makeTempDir({ prefix: "siamize-models-" });
    dir = made;
    // One folder per test process, removed when the process ends.
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(made, { recursive: true });
      } catch { /* gone */ }
    });
  }
  const path = join(dir, `tiny_${fp16 ? "fp16" : "fp32"}_${seed}.onnx`);
  try {
    await Deno.stat(path);
  } catch {
    await Deno.writeFile(path, buildResEncUNet({ ...PRESETS.tiny, fp16, seed }).bytes);
  }
  return path;
}
