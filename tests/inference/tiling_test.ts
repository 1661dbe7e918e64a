import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import type { Shape3 } from "../../lib/core/types.ts";
import {
  extractTile,
  gaussianMap,
  LogitAccumulator,
  padding,
  padVolume,
  slidingWindow,
  type TilePredictor,
  tileStarts,
} from "../../lib/inference/tiling.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
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

function channelNet(classes: number): TilePredictor {
  return (tile) => {
    const out = new Float32Array(classes * tile.length);
    for (let c = 0; c < classes; c++) {
      for (let i = 0; i < tile.length; i++) out[c * tile.length + i] = tile[i] * (c + 1) - c;
    }
    return Promise.resolve(out);
  };
}

Deno.test("sliding window of a voxel-wise network returns that network's output", async () => {
  const shape: Shape3 = [20, 17, 13];
  const patch: Shape3 = [8, 8, 8];
  const img = new Float32Array(20 * 17 * 13).map((_, i) => Math.cos(i * 0.1));
  const acc = new LogitAccumulator(3, shape, gaussianMap(patch));
  let calls = 0;
  await slidingWindow(img, shape, patch, channelNet(3), acc, { onTile: () => calls++ });
  const starts = tileStarts(shape, patch);
  assertEquals(calls, starts[0].length * starts[1].length * starts[2].length);
  const { logits, shape: s } = acc.finish([[0, 0], [0, 0], [0, 0]]);
  assertEquals(s, shape);
  const n = img.length;
  for (let c = 0; c < 3; c++) {
    assertClose(logits.subarray(c * n, (c + 1) * n), img.map((v) => v * (c + 1) - c), 1e-5, { message: `class ${c}` });
  }
});

Deno.test("blending is the Gaussian-weighted mean of overlapping tiles (float64 reference)", async () => {
  const shape: Shape3 = [12, 10, 9];
  const patch: Shape3 = [8, 6, 6];
  const g = gaussianMap(patch);
  const starts = tileStarts(shape, patch);
  const tiles: number[][] = [];
  for (const z of starts[0]) for (const y of starts[1]) for (const x of starts[2]) tiles.push([z, y, x]);
  // Each tile returns a constant: its own index.
  let t = 0;
  const net: TilePredictor = (tile) => Promise.resolve(new Float32Array(tile.length).fill(t++));
  const acc = new LogitAccumulator(1, shape, g);
  await slidingWindow(new Float32Array(12 * 10 * 9), shape, patch, net, acc);
  const { logits } = acc.finish([[0, 0], [0, 0], [0, 0]]);
  const num = new Float64Array(logits.length), den = new Float64Array(logits.length);
  tiles.forEach((s, k) => {
    let gi = 0;
    for (let z = 0; z < patch[0]; z++) {
      for (let y = 0; y < patch[1]; y++) {
        for (let x = 0; x < patch[2]; x++, gi++) {
          const i = ((s[0] + z) * shape[1] + s[1] + y) * shape[2] + s[2] + x;
          num[i] += k * g[gi];
          den[i] += g[gi];
        }
      }
    }
  });
  assertClose(logits, num.map((v, i) => v / den[i]), 1e-5, { relative: true });
});

Deno.test("folds average into one accumulator; padding is dropped in place", async () => {
  const shape: Shape3 = [6, 5, 4];
  const patch: Shape3 = [8, 8, 4];
  const pad = padding(shape, patch);
  const img = new Float32Array(120).map((_, i) => i / 10);
  const padded = padVolume(img, shape, pad);
  const acc = new LogitAccumulator(2, padded.shape, gaussianMap(patch));
  const sumBefore = acc.sum;
  await slidingWindow(padded.data, padded.shape, patch, channelNet(2), acc);
  // Second fold: a network that returns the negation plus 4 -> mean is 2 for class 0.
  const neg: TilePredictor = async (tile) => (await channelNet(2)(tile, patch)).map((v) => 4 - v);
  await slidingWindow(padded.data, padded.shape, patch, neg, acc);
  assertEquals(acc.folds, 2);
  const { logits, shape: s } = acc.finish(pad);
  assertEquals(s, shape);
  assert(logits.buffer === sumBefore.buffer, "no second copy of the logits");
  assertClose(logits, new Float32Array(240).fill(2), 1e-5);
  assertThrows(() => acc.addTile(new Float32Array(2 * 256), [0, 0, 0], patch), /finished/);
});

Deno.test("a network returning the wrong size is an error", async () => {
  const acc = new LogitAccumulator(3, [8, 8, 8], gaussianMap([8, 8, 8]));
  let err = "";
  try {
    await slidingWindow(new Float32Array(512), [8, 8, 8], [8, 8, 8], channelNet(2), acc);
  } catch (e) {
    err = (e as Error).message;
  }
  assert(/expected 3x8x8x8/.test(err), err);
});

Deno.test("an aborted signal stops between tiles", async () => {
  const ctl = new AbortController();
  ctl.abort(new Error("stop"));
  const acc = new LogitAccumulator(1, [8, 8, 8], gaussianMap([8, 8, 8]));
  let err = "";
  try {
    await slidingWindow(new Float32Array(512), [8, 8, 8], [8, 8, 8], channelNet(1), acc, { signal: ctl.signal });
  } catch (e) {
    err = (e as Error).message;
  }
  assertEquals(err, "stop");
});
