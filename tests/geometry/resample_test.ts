import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { newShape, resize, roundHalfEven } from "../../lib/geometry/resample.ts";
import { type Shape3 } from "../../lib/core/types.ts";
import { assertClose, assertEquals } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";

const zyx = (dims: number[]): Shape3 => [dims[2], dims[1], dims[0]];
const cases = JSON.parse(await Deno.readTextFile(join(GOLDEN, "cases.json")));

Deno.test("order 3 up: skimage resize (20,24,18) -> (27,31,25) within 1e-4", async () => {
  const a = await readNifti(join(GOLDEN, "resize3_in.nii.gz"));
  const b = await readNifti(join(GOLDEN, "resize3_out.nii.gz"));
  assertEquals(zyx(b.dims), [27, 31, 25]);
  const r = resize(a.data, zyx(a.dims), zyx(b.dims), 3);
  assertClose(r, b.data, 1e-4);
});

Deno.test("order 3 down: skimage resize (20,24,18) -> (13,17,11) within 1e-4", async () => {
  const a = await readNifti(join(GOLDEN, "resize3_in.nii.gz"));
  const b = await readNifti(join(GOLDEN, "resize3_down_out.nii.gz"));
  const r = resize(a.data, zyx(a.dims), zyx(b.dims), 3);
  assertClose(r, b.data, 1e-4);
});

Deno.test("order 1: 3 channels (16,14,12) -> (11,19,9) within 1e-4", async () => {
  const a = await readNifti(join(GOLDEN, "resize1_in.nii.gz"), { allow4D: true });
  const b = await readNifti(join(GOLDEN, "resize1_out.nii.gz"), { allow4D: true });
  assertEquals(a.dims[3], 3);
  const nIn = a.dims[0] * a.dims[1] * a.dims[2], nOut = b.dims[0] * b.dims[1] * b.dims[2];
  for (let c = 0; c < 3; c++) {
    const r = resize(a.data.subarray(c * nIn, (c + 1) * nIn), zyx(a.dims), zyx(b.dims), 1);
    assertClose(r, b.data.subarray(c * nOut, (c + 1) * nOut), 1e-4, { message: `channel ${c}` });
  }
});

Deno.test("order 3 interpolates: same shape returns the input; constant stays constant", () => {
  const n = 5 * 6 * 7;
  const a = new Float32Array(n).map((_, i) => Math.sin(i * 0.37));
  assertClose(resize(a, [5, 6, 7], [5, 6, 7], 3), a, 0);
  const c = new Float32Array(n).fill(2.5);
  assertClose(resize(c, [5, 6, 7], [9, 4, 13], 3), new Float32Array(9 * 4 * 13).fill(2.5), 1e-6);
});

Deno.test("new shapes after resampling to 0.75 mm (golden) and Python rounding", () => {
  for (const c of cases.new_shape) {
    assertEquals(newShape(c.shape_zyx, c.spacing_zyx, c.target), c.new_shape);
  }
  assertEquals([0.5, 1.5, 2.5, -0.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, 2, 3]);
});
