import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { Prompter } from "../../lib/prompt/prompter.ts";
import type { Prompt } from "../../lib/prompt/prompts.ts";
import { sliceOf2D } from "../../lib/prompt/slice.ts";
import { CASES, GOLDEN, type GoldenPrompt, readNpyF32, sha256 } from "./_golden.ts";

const MODELS = { encoder: `${GOLDEN}models/tiny_encoder.onnx`, decoder: `${GOLDEN}models/tiny_decoder.onnx` };

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length, "lengths");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The golden prompt as our API takes it. */
export function promptOf(g: GoldenPrompt): Prompt {
  return {
    box: g.box,
    points: g.point ? [{ x: g.point[0], y: g.point[1], label: g.point_label === 0 ? 0 : 1 }] : undefined,
  };
}

Deno.test("golden SAMRI chain through the tiny models: embeddings, decoder feed, low-res logits, masks", async (t) => {
  const p = await Prompter.open(SAMRI_VIT_B, { models: MODELS, threads: 2 });
  try {
    for (const c of CASES) {
      const vol = await readNifti(`${GOLDEN}${c.input.file}`, { float64: true });
      const e = await p.embed(sliceOf2D(vol, c.input.file).slice);
      const emb = c.arrays.embeddings;
      if (emb?.file) {
        // every 17th value of the torch embeddings (see tests/golden/samri/README.md)
        const want = await readNpyF32(`${c.name}/embeddings_every17.npy.gz`);
        const got = e.embeddings.filter((_, i) => i % 17 === 0);
        const d = maxAbsDiff(got, want);
        assert(d <= 1e-4, `${c.name}: embeddings differ by ${d}`);
      }
      for (const g of c.prompts) {
        await t.step(`${c.name} ${g.name}`, async () => {
          const r = await p.predict(e, promptOf(g));
          assertEquals([...r.feed.coords], g.decoder_inputs.point_coords[0].flat(), "point_coords bit-exact");
          assertEquals([...r.feed.labels], g.decoder_inputs.point_labels[0], "point_labels");
          const want = await readNpyF32(`${c.name}/${g.name}/low_res_logits.npy.gz`);
          const d = maxAbsDiff(r.lowRes, want);
          assert(d <= 1e-5, `low-res logits differ by ${d}`);
          assertEquals(await sha256(r.mask), g.torch.mask_sha256_data, "mask identical to SAMRI's");
          assert(Math.abs(r.score - g.torch.iou) < 1e-5, `iou ${r.score} vs ${g.torch.iou}`);
        });
      }
    }
  } finally {
    await p.close();
  }
});

Deno.test("Prompter.open refuses a decoder whose inputs do not match the card, naming the file", async () => {
  await assertRejects(
    () => Prompter.open(SAMRI_VIT_B, { models: { encoder: MODELS.encoder, decoder: MODELS.encoder } }),
    /tiny_encoder\.onnx: decoder inputs input_image do not match the card samri-vit-b \(missing image_embeddings/,
  );
});

Deno.test("module API: embed a volume's slice, then predict from a prompt alone (the golden coronal box)", async () => {
  const { Prompter: P, SAMRI_VIT_B: card, readVolume } = await import("../../mod.ts");
  const c = CASES.find((x) => x.name === "ch2_coronal_j130")!;
  const g = c.prompts.find((x) => x.name === "box")!;
  const p = await P.open(card, { models: MODELS, threads: 2 });
  try {
    await assertRejects(() => p.predict({ box: g.box }), /no slice embedded yet/);
    const vol = await readVolume(`${GOLDEN}${c.input.file}`, { float64: true });
    const e = await p.embed(vol, { axis: 0, index: 0 });
    assertEquals([e.height, e.width, e.cached], [181, 181, false]);
    const r = await p.predict({ box: g.box });
    assertEquals(await sha256(r.mask), g.torch.mask_sha256_data);
  } finally {
    await p.close();
  }
});
