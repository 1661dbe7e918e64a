/**
 * `-c webgpu` for both prompt networks (the golden tiny SAM) against the
 * CPU provider, on a real GPU or Mesa's lavapipe (slow: 45 s to 3 minutes for
 * the tiny encoder's global attention on a loaded 2-core machine). Skipped,
 * saying why, where no WebGPU adapter exists, unless CI requires it
 * (`SIAMIZE_REQUIRE_WEBGPU=1`).
 *
 * @module
 */
import { webgpuAdapter } from "../../lib/engine/gpu_adapter.ts";
import { openGraph } from "../../lib/engine/ort_graph.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { readPromptInput } from "../../lib/prompt/input.ts";
import { Prompter } from "../../lib/prompt/prompter.ts";
import { assertEquals } from "../_assert.ts";
import { CASES, GOLDEN, sha256 } from "./_golden.ts";

const MODELS = { encoder: `${GOLDEN}models/tiny_encoder.onnx`, decoder: `${GOLDEN}models/tiny_decoder.onnx` };

async function unavailable(): Promise<string | undefined> {
  if (!await webgpuAdapter()) return "navigator.gpu gives no adapter";
  try {
    await (await openGraph(MODELS.decoder, "decoder", { compute: "webgpu" })).release();
    return undefined;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}
const adapter = await webgpuAdapter();
if (adapter?.software && !Deno.env.get("LP_NUM_THREADS")) Deno.env.set("LP_NUM_THREADS", "2");
const why = await unavailable();
const required = Deno.env.get("SIAMIZE_REQUIRE_WEBGPU") === "1";
if (why && !required) console.warn(`webgpu_prompt_test: skipped: ${why}`);

Deno.test({
  name: "webgpu: the tiny SAM's encoder and decoder give SAMRI's golden mask, as on the CPU",
  ignore: why !== undefined && !required,
  fn: async () => {
    if (why) throw new Error(`SIAMIZE_REQUIRE_WEBGPU=1 but WebGPU cannot run: ${why}`);
    const c = CASES.find((x) => x.name === "ch2_axial_k080")!;
    const g = c.prompts.find((x) => x.name === "box")!;
    const img = await readPromptInput(`${GOLDEN}${c.input.file}`);
    const p = await Prompter.open(SAMRI_VIT_B, { models: MODELS, compute: "webgpu", threads: 2 });
    try {
      assertEquals(p.provider, "webgpu");
      await p.embed(img.slice);
      await p.releaseEncoder();
      const r = await p.predict({ box: g.box });
      assertEquals(await sha256(r.mask), g.torch.mask_sha256_data, "mask identical to SAMRI's");
    } finally {
      await p.close();
    }
  },
});
