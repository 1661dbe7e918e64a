import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../_assert.ts";
import { decodeModel } from "../../lib/engine/onnx_proto.ts";
import { threadOptions } from "../../lib/engine/ort.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { Prompter } from "../../lib/prompt/prompter.ts";
import { makeModel, samPaths } from "../../scripts/builders/make_model.ts";
import { buildSamEncoder, GLOBAL_CHUNK_ROWS, SAM_TINY } from "../../scripts/builders/sam_builder.ts";

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

Deno.test("SAM encoder: global attention in chunks of query rows gives the embeddings of one piece, bit for bit", async () => {
  const one = buildSamEncoder({ ...SAM_TINY, globalChunkRows: undefined }, 3);
  const chunked = buildSamEncoder(SAM_TINY, 3);
  assertEquals(chunked.parameters, one.parameters);
  const softmaxes = (bytes: Uint8Array) =>
    decodeModel(bytes).graph!.node!.filter((n) => n.op_type === "Softmax").length;
  // sam-tiny's two blocks: 1 softmax in the windowed one; 64 / 8 in the global one when chunked
  assertEquals([softmaxes(one.bytes), softmaxes(chunked.bytes)], [2, 1 + 64 / GLOBAL_CHUNK_ROWS]);
  const x = Float32Array.from({ length: 3 * 1024 * 1024 }, (_, i) => ((i * 2654435761) % 4093) / 1000 - 2);
  const embed = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes, { ...threadOptions(2), enableCpuMemArena: false });
    try {
      const r = await s.run({ input_image: new ort.Tensor("float32", x, [1, 3, 1024, 1024]) });
      return r.image_embeddings.data as Float32Array;
    } finally {
      await s.release();
    }
  };
  const [a, b] = [await embed(one.bytes), await embed(chunked.bytes)];
  assertEquals(a.length, 256 * 64 * 64);
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  assertEquals(differ, 0);
  assert(a.some((v) => v !== 0) && a.every(Number.isFinite));
});
