import { assert, assertEquals } from "../_assert.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { Prompter } from "../../lib/prompt/prompter.ts";
import { makeModel, samPaths } from "../../scripts/builders/make_model.ts";

Deno.test("make-model --preset sam-tiny: SAM's two graphs, accepted by the SAMRI card, masks at the slice's size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const n = await makeModel("sam-tiny", `${dir}/sam.onnx`, false, 1);
    const [enc, dec] = samPaths(`${dir}/sam.onnx`, false);
    assertEquals([enc, dec], [`${dir}/sam_encoder.onnx`, `${dir}/sam_decoder.onnx`]);
    // the golden tiny SAM: 1.03 M (encoder) + 4.06 M (prompt encoder and mask decoder) parameters
    assert(Math.abs(n - 5.09e6) < 0.02e6, `${n} parameters`);
    const p = await Prompter.open(SAMRI_VIT_B, { models: { encoder: enc, decoder: dec }, threads: 2 });
    try {
      const data = Float64Array.from({ length: 40 * 70 }, (_, i) => (i * 7919) % 255);
      const e = await p.embed({ height: 40, width: 70, data });
      assertEquals(e.embeddings.length, 256 * 64 * 64);
      assert(e.embeddings.every(Number.isFinite));
      const box = await p.predict({ box: [10, 5, 50, 30] });
      const point = await p.predict({ points: [{ x: 3, y: 4 }] });
      assertEquals([box.mask.length, box.lowRes.length], [40 * 70, 256 * 256]);
      assert(Number.isFinite(box.score) && Number.isFinite(point.score));
      assert(box.mask.some((v, i) => v !== point.mask[i]), "the prompt changes the mask");
    } finally {
      await p.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make-model SAM presets: a folder gets the SAMRI card's file names", () => {
  assertEquals(samPaths("/c/", false), ["/c/samri_vit_b_encoder.onnx", "/c/samri_vit_b_decoder.onnx"]);
  assertEquals(samPaths("/c", true), ["/c/samri_vit_b_encoder.onnx", "/c/samri_vit_b_decoder.onnx"]);
});
