import { join } from "../../lib/core/_std.ts";
import { boxShape, cropTo, fillHoles, nonzeroBox, pasteInto } from "../../lib/geometry/crop.ts";
import type { Shape3 } from "../../lib/core/types.ts";
import { assertClose, assertEquals } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";

const cases = JSON.parse(await Deno.readTextFile(join(GOLDEN, "cases.json")));

/** Builds the golden test volume: ones in the given (half-open) ranges, a hole of zeros. */
function goldenVolume(c: { shape_zyx: Shape3; nonzero_ranges: number[][]; hole: number[] }): Float32Array {
  const [nz, ny, nx] = c.shape_zyx;
  const a = new Float32Array(nz * ny * nx);
  const fill = (r: number[], v: number) => {
    for (let z = r[0]; z < r[1]; z++) {
      for (let y = r[2]; y < r[3]; y++) for (let x = r[4]; x < r[5]; x++) a[(z * ny + y) * nx + x] = v;
    }
  };
  for (const r of c.nonzero_ranges) fill(r, 1);
  fill(c.hole, 0);
  return a;
}

Deno.test("crop boxes match the golden cases", () => {
  for (const c of cases.crop_box) {
    const a = goldenVolume(c);
    assertEquals(nonzeroBox(a, c.shape_zyx), c.box_zyx_half_open);
    // The box of the hole-filled mask is the same.
    const filled = fillHoles(Uint8Array.from(a, (v) => (v ? 1 : 0)), c.shape_zyx);
    assertEquals(nonzeroBox(filled, c.shape_zyx), c.box_zyx_half_open);
  }
});

Deno.test("fillHoles fills enclosed background only (6-connectivity)", () => {
  const shape: Shape3 = [5, 5, 5];
  const m = new Uint8Array(125);
  const at = (z: number, y: number, x: number) => (z * 5 + y) * 5 + x;
  // A closed shell around the centre voxel.
  for (let z = 1; z < 4; z++) for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) m[at(z, y, x)] = 1;
  m[at(2, 2, 2)] = 0;
  assertEquals(fillHoles(m, shape)[at(2, 2, 2)], 1);
  // Open the shell on one face: the cavity now reaches the border.
  m[at(2, 2, 1)] = 0;
  m[at(2, 2, 0)] = 0;
  assertEquals(fillHoles(m, shape)[at(2, 2, 2)], 0);
  // A diagonal gap does not connect with 6-connectivity.
  m[at(2, 2, 1)] = 1;
  m[at(1, 1, 1)] = 0;
  assertEquals(fillHoles(m, shape)[at(2, 2, 2)], 1);
});

Deno.test("all-zero volumes keep the full box; NaN counts as zero", () => {
  assertEquals(nonzeroBox(new Float32Array(24), [2, 3, 4]), [[0, 2], [0, 3], [0, 4]]);
  const a = new Float32Array(24).fill(NaN);
  a[5] = 1;
  assertEquals(nonzeroBox(a, [2, 3, 4]), [[0, 1], [1, 2], [1, 2]]);
});

Deno.test("crop and paste are inverse on the box", () => {
  const shape: Shape3 = [6, 7, 8];
  const a = new Float32Array(336).map((_, i) => i);
  const box: [[number, number], [number, number], [number, number]] = [[1, 4], [2, 7], [3, 5]];
  const c = cropTo(a, shape, box);
  assertEquals(c.length, boxShape(box).reduce((x, y) => x * y));
  assertEquals(c[0], (1 * 7 + 2) * 8 + 3);
  const back = pasteInto(c, shape, box, new Float32Array(336));
  for (let i = 0; i < 336; i++) {
    const x = i % 8, y = Math.floor(i / 8) % 7, z = Math.floor(i / 56);
    const inside = z >= 1 && z < 4 && y >= 2 && y < 7 && x >= 3 && x < 5;
    assertEquals(back[i], inside ? a[i] : 0);
  }
  assertClose(cropTo(back, shape, box), c, 0);
});
