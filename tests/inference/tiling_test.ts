import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { extractTile, gaussianMap, padding, padVolume, tileStarts } from "../../lib/inference/tiling.ts";
import { assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";

const cases = JSON.parse(await Deno.readTextFile(join(GOLDEN, "cases.json")));

Deno.test("tile starts match the golden cases (step 0.5)", () => {
  for (const c of cases.tile_starts) assertEquals(tileStarts(c.size_zyx, c.patch_zyx, 0.5), c.starts);
  assertThrows(() => tileStarts([10, 10, 10], [12, 8, 8]), /smaller than the patch/);
});

Deno.test("Gaussian importance map matches the golden 32x32x24 within 1e-6 relative", async () => {
  const g = await readNifti(join(GOLDEN, "gaussian_32x32x24.nii.gz"));
  assertEquals(g.dims, [24, 32, 32]);
  const mine = gaussianMap([32, 32, 24]);
  assertClose(mine, g.data, 1e-6, { relative: true });
  assertEquals(Math.max(...mine), 10);
});

Deno.test("padding: left = diff // 2, and padVolume places the data there", () => {
  assertEquals(padding([5, 10, 3], [8, 8, 8]), [[1, 2], [0, 0], [2, 3]]);
  const a = new Float32Array(2 * 1 * 3).map((_, i) => i + 1);
  const p = padVolume(a, [2, 1, 3], padding([2, 1, 3], [3, 2, 4]));
  assertEquals(p.shape, [3, 2, 4]);
  const t = new Float32Array(3);
  extractTile(p.data, p.shape, [0, 0, 0], [1, 1, 3], t);
  assertClose(t, [1, 2, 3], 0);
  assertEquals(p.data.reduce((s, v) => s + v, 0), 21);
});
