import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { InputError } from "../../lib/core/errors.ts";
import { shippedCard } from "../../lib/cards/shipped.ts";
import { planPromptTabMemory, planTabMemory, TAB_WASM_HEAP_BYTES } from "../../lib/web/tab_memory.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";

const siam = shippedCard("siam-v0.3")!;
const ct = shippedCard("monai-wholebody-ct")!;
const head = {
  working: [192, 224, 192] as [number, number, number],
  cropped: [160, 190, 160] as [number, number, number],
};

Deno.test("tab memory: SIAM at its low-memory patch fits a tab, its full patch is refused naming the patch", () => {
  const ok = planTabMemory("t1.nii", {
    card: siam,
    patch: [...siam.lowmemPatch] as [number, number, number],
    ...head,
    inputVoxels: 256 * 256 * 180,
    modelBytes: 120e6,
  });
  assert(ok.wasm <= TAB_WASM_HEAP_BYTES && ok.wasm > 700 * 192 * 192 * 128, `${ok.wasm}`);
  // 18 classes + weights over the padded grid, the image, the input, the resized logits.
  assert(ok.arrays > 19 * 4 * 192 * 224 * 192, `${ok.arrays}`);
  const e = assertThrows(
    () =>
      planTabMemory("t1.nii", {
        card: siam,
        patch: [256, 256, 192],
        ...head,
        inputVoxels: 256 * 256 * 180,
        modelBytes: 120e6,
      }),
    /^t1\.nii: .*patch 256x256x192 needs about .* of WASM heap, more than a tab's 4\.0 GiB; choose a smaller patch/,
  );
  assert(e instanceof InputError);
  assertEquals(e.exitCode, 65);
});

Deno.test("tab memory: a working grid too large for the page's arrays is refused; the limits can be lowered", () => {
  const e = assertThrows(
    () =>
      planTabMemory("ct.nii", {
        card: ct,
        patch: [96, 96, 96],
        working: [600, 400, 400],
        cropped: [600, 400, 400],
        inputVoxels: 512 * 512 * 600,
        modelBytes: 20e6,
      }),
    /600x400x400 working grid with 105 classes needs about .*; choose a coarser spacing/,
  );
  assert(e instanceof InputError);
  const grid: [number, number, number] = [96, 128, 96];
  const small = { card: ct, patch: grid, working: grid, cropped: grid, inputVoxels: 1e6, modelBytes: 20e6 };
  assert(planTabMemory("ct.nii", small).wasm < TAB_WASM_HEAP_BYTES);
  assertThrows(() => planTabMemory("ct.nii", { ...small, limits: { wasm: 2 ** 28 } }), /WASM heap/);
});

Deno.test("tab memory: SAMRI's ViT-B networks fit a tab, a ViT-H-sized encoder or a huge scan is refused in one line", () => {
  const samri = SAMRI_VIT_B;
  const vitB = { card: samri, encoderBytes: 358e6, decoderBytes: 16.5e6 };
  const ok = planPromptTabMemory("enc.onnx", { ...vitB, scanVoxels: 256 * 256 * 180, slicePixels: 256 * 256 });
  // Two global-attention score tensors of 12 heads x 4096² tokens, the weights twice.
  assert(ok.wasm > 2 * 4 * 12 * 4096 ** 2 + 2 * 358e6 && ok.wasm <= TAB_WASM_HEAP_BYTES, `${ok.wasm}`);
  assertThrows(
    () => planPromptTabMemory("vit_h.onnx", { ...vitB, encoderBytes: 2.5e9 }),
    /^vit_h\.onnx: the SAMRI encoder and decoder \(.*\) need about .* of WASM heap, more than a tab's 4\.0 GiB; run them with siamize prompt$/,
  );
  const e = assertThrows(
    () => planPromptTabMemory("big.nii", { ...vitB, scanVoxels: 512 * 512 * 1600 }),
    /^big\.nii: a scan of 419430400 voxels needs about .* in the tab, more than its 4\.0 GiB/,
  );
  assert(e instanceof InputError);
});
