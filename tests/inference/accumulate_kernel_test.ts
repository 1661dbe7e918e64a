import { addRows, addXyzBlocks, type TileGeometry } from "../../lib/inference/accumulate_kernel.ts";
import { assertEquals } from "../_assert.ts";

/** Deterministic values with varied signs and magnitudes. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 0.731 + seed) * (1 + (i % 7));
  return out;
}

/** The accumulation written out voxel by voxel: sum[c, s+z, s+y, s+x] += fround(l * g). */
function reference(
  sum: Float32Array,
  logits: Float32Array,
  g: Float32Array,
  geo: TileGeometry,
  classes: number,
  xyz: boolean,
) {
  const [nz, ny, nx] = geo.shape;
  const [pz, py, px] = geo.patch;
  for (let c = 0; c < classes; c++) {
    for (let z = 0; z < pz; z++) {
      for (let y = 0; y < py; y++) {
        for (let x = 0; x < px; x++) {
          const t = xyz ? ((c * px + x) * py + y) * pz + z : ((c * pz + z) * py + y) * px + x;
          const d = (((c * nz) + geo.start[0] + z) * ny + geo.start[1] + y) * nx + geo.start[2] + x;
          sum[d] += Math.fround(logits[t] * g[(z * py + y) * px + x]);
        }
      }
    }
  }
}

for (const xyz of [false, true]) {
  Deno.test(`${xyz ? "addXyzBlocks" : "addRows"}: bit-identical to the voxel-by-voxel sum, any class split`, () => {
    const classes = 5;
    // Sizes that are not multiples of the 16-voxel blocks, and two overlapping tiles.
    const geoA: TileGeometry = { shape: [23, 21, 37], start: [0, 2, 3], patch: [19, 17, 33] };
    const geoB: TileGeometry = { shape: [23, 21, 37], start: [4, 4, 4], patch: [19, 17, 33] };
    const pn = 19 * 17 * 33;
    const g = values(pn, 9).map(Math.abs);
    const la = values(classes * pn, 1), lb = values(classes * pn, 2);
    const n = 23 * 21 * 37;
    const want = values(classes * n, 3);
    const got = want.slice();
    reference(want, la, g, geoA, classes, xyz);
    reference(want, lb, g, geoB, classes, xyz);
    const add = xyz ? addXyzBlocks : addRows;
    add(got, la, g, geoA, 0, 2);
    add(got, la, g, geoA, 2, classes);
    for (let c = 0; c < classes; c++) add(got, lb, g, geoB, c, c + 1);
    assertEquals(got, want);
  });
}
