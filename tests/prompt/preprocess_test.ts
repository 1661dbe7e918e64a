import { assertEquals, assertThrows } from "../_assert.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { isConstant, prepareSlice, rint, targetSize, toUint8 } from "../../lib/prompt/preprocess.ts";
import { sliceOf2D } from "../../lib/prompt/slice.ts";
import { CASES, GOLDEN, sha256 } from "./_golden.ts";

Deno.test("rint rounds half to even, like NumPy", () => {
  assertEquals([0.5, 1.5, 2.5, 3.5, 127.5, 128.5, 2.4999, 2.5001].map(rint), [0, 2, 2, 4, 128, 128, 2, 3]);
});

Deno.test("toUint8: min-max in float64, a constant image is all zero", () => {
  assertEquals([...toUint8(new Float64Array([10, 10.5, 11, 12]))], [0, 64, 128, 255]);
  assertEquals([...toUint8(new Float64Array([7, 7, 7]))], [0, 0, 0]);
  assertEquals(isConstant(new Float64Array([7, 7, 7])), true);
  assertEquals(isConstant(new Float64Array([7, 7, 8])), false);
});

Deno.test("targetSize: SAM's get_preprocess_shape", () => {
  assertEquals(targetSize(181, 217), [854, 1024]);
  assertEquals(targetSize(217, 181), [1024, 854]);
  assertEquals(targetSize(181, 181), [1024, 1024]);
  assertEquals(targetSize(97, 2051), [48, 1024]);
});

Deno.test("sliceOf2D refuses a 3-D volume without --slice", async () => {
  const v = await readNifti(`${GOLDEN}slices/ch2_axial_k080.nii.gz`);
  assertThrows(
    () => sliceOf2D({ ...v, dims: [4, 5, 6], header: { ...v.header, dim: [3, 4, 5, 6, 1, 1, 1, 1] } }, "x.nii"),
    /x\.nii: 3-D volume 4x5x6: choose a slice with --slice/,
  );
});

for (const c of CASES) {
  Deno.test(`golden ${c.name}: uint8 RGB, resized image and encoder input are bit-exact`, async () => {
    const vol = await readNifti(`${GOLDEN}${c.input.file}`, { float64: true });
    const { slice } = sliceOf2D(vol, c.input.file);
    assertEquals([slice.height, slice.width], [c.H, c.W]);
    const p = prepareSlice(slice);
    assertEquals(await sha256(p.rgb.data), c.arrays.rgb_u8.sha256_data, "rgb_u8");
    assertEquals([p.resized.height, p.resized.width], c.resized_hw);
    assertEquals(await sha256(p.resized.data), c.arrays.resized_u8.sha256_data, "resized_u8");
    assertEquals(await sha256(p.input), c.arrays.encoder_input.sha256_data, "encoder_input");
  });
}
