import { join } from "../../lib/core/_std.ts";
import { axcodes, fromCanonical, ioOrientation, toCanonical } from "../../lib/geometry/orient.ts";
import { assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";

interface Case {
  name: string;
  affine: number[][];
  shape: number[];
  ornt: number[][];
  axcodes: string[];
  canonical_affine: number[][];
  canonical_shape: number[];
  canonical_first_voxels: number[];
}

const golden: { cases: Case[] } = JSON.parse(await Deno.readTextFile(join(GOLDEN, "orientation.json")));

/** data = arange(prod(shape)) in C order over (i, j, k), stored x fastest. */
function arangeC(shape: number[]): Float64Array {
  const [ni, nj, nk] = shape;
  const out = new Float64Array(ni * nj * nk);
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) out[i + ni * (j + nj * k)] = i * nj * nk + j * nk + k;
    }
  }
  return out;
}

Deno.test("golden orientation cases (nibabel io_orientation, aff2axcodes, as_closest_canonical)", () => {
  assertEquals(golden.cases.length, 30);
  for (const c of golden.cases) {
    assertEquals(ioOrientation(c.affine), c.ornt.map(([a, s]) => [a, s]), c.name);
    assertEquals(axcodes(c.affine), c.axcodes, c.name);
    const data = arangeC(c.shape);
    const can = toCanonical({ data, dims: c.shape, affine: c.affine });
    assertEquals(can.dims, c.canonical_shape, c.name);
    assertClose(can.affine.flat(), c.canonical_affine.flat(), 1e-9, { message: c.name });
    assertClose(can.data.slice(0, 12), c.canonical_first_voxels, 0, { message: c.name });
    // And back, bit for bit.
    const back = fromCanonical(can.data, can.ornt, c.shape);
    assertClose(back, data, 0, { message: `${c.name} inverse` });
  }
});

Deno.test("channels (4th dimension) are reoriented block by block", () => {
  const affine = [[-1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]];
  const shape = [3, 4, 5];
  const one = arangeC(shape);
  const two = new Float64Array(one.length * 2);
  two.set(one);
  two.set(one.map((x) => -x), one.length);
  const can1 = toCanonical({ data: one, dims: shape, affine });
  const can2 = toCanonical({ data: two, dims: [...shape, 2], affine });
  assertEquals(can2.dims, [...can1.dims, 2]);
  assertClose(can2.data.subarray(0, one.length), can1.data, 0);
  assertClose(can2.data.subarray(one.length), can1.data.map((x) => -x), 0);
  assertClose(fromCanonical(can2.data, can2.ornt, shape, 2), two, 0);
});

Deno.test("singular affines are refused", () => {
  assertThrows(() => ioOrientation([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]), /singular/);
});
