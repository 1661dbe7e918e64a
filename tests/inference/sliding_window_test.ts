import type { Shape3 } from "../../lib/core/types.ts";
import { gaussianMap, LogitAccumulator, type TilePredictor, tileStarts } from "../../lib/inference/tiling.ts";
import { type Fold, runWindows, type WindowRunOptions } from "../../lib/inference/sliding_window.ts";
import { type Inference, planWindows } from "../../lib/inference/window.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";

/** nnU-Net's sliding window at step 0.5 with its Gaussian. */
const NNUNET: Inference = {
  mode: "sliding-window",
  starts: "nnunet",
  overlap: 0.5,
  step: 0.5,
  padding: "constant",
  blending: { type: "nnunet", sigmaScale: 1 / 8, valueScale: 10 },
};

const fold = (predict: TilePredictor, classes: number): Fold => ({ classes, predict });

/** One-channel image through the one tile loop with nnU-Net's plan. */
function slide(img: Float32Array, shape: Shape3, patch: Shape3, folds: Fold[], options: WindowRunOptions = {}) {
  return runWindows(img, 1, shape, planWindows(shape, NNUNET, patch), folds, options);
}

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
  let calls = 0;
  const { logits, tiles } = await slide(img, shape, patch, [fold(channelNet(3), 3)], { onTile: () => calls++ });
  const starts = tileStarts(shape, patch);
  assertEquals(calls, starts[0].length * starts[1].length * starts[2].length);
  assertEquals(tiles, calls);
  assertEquals(logits.length, 3 * img.length);
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
  const { logits } = await slide(new Float32Array(12 * 10 * 9), shape, patch, [fold(net, 1)]);
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
  const img = new Float32Array(120).map((_, i) => i / 10);
  // Second fold: a network that returns the negation plus 4 -> mean is 2 for class 0.
  const neg: TilePredictor = async (tile) => (await channelNet(2)(tile, patch)).map((v) => 4 - v);
  const { logits } = await slide(img, shape, patch, [fold(channelNet(2), 2), fold(neg, 2)]);
  assertClose(logits, new Float32Array(240).fill(2), 1e-5);
  // The accumulator drops the padding in place and refuses tiles after it finished.
  const acc = new LogitAccumulator(2, [8, 8, 4], gaussianMap(patch));
  const sumBefore = acc.sum;
  acc.addTile(new Float32Array(2 * 256).fill(1), [0, 0, 0], patch);
  acc.endFold();
  const r = acc.finish([[1, 1], [1, 2], [0, 0]]);
  assertEquals(r.shape, shape);
  assert(r.logits.buffer === sumBefore.buffer, "no second copy of the logits");
  assertThrows(() => acc.addTile(new Float32Array(2 * 256), [0, 0, 0], patch), /finished/);
});

Deno.test("a network returning the wrong size is an error", async () => {
  let err = "";
  try {
    await slide(new Float32Array(512), [8, 8, 8], [8, 8, 8], [fold(channelNet(2), 3)]);
  } catch (e) {
    err = (e as Error).message;
  }
  assert(/expected 3x8x8x8/.test(err), err);
});

Deno.test("an aborted signal stops between tiles", async () => {
  const ctl = new AbortController();
  ctl.abort(new Error("stop"));
  let err = "";
  try {
    await slide(new Float32Array(512), [8, 8, 8], [8, 8, 8], [fold(channelNet(1), 1)], { signal: ctl.signal });
  } catch (e) {
    err = (e as Error).message;
  }
  assertEquals(err, "stop");
});

Deno.test("freshOutputs: each tile's logits are freed once added (same result); without it they are left alone", async () => {
  const shape: Shape3 = [20, 17, 13];
  const patch: Shape3 = [8, 8, 8];
  const img = new Float32Array(20 * 17 * 13).map((_, i) => Math.sin(i * 0.3));
  for (const tta of [false, true]) {
    const outs: Float32Array[] = [];
    const net: TilePredictor = async (tile, p) => {
      const out = await channelNet(3)(tile, p);
      outs.push(out);
      return out;
    };
    const kept = await slide(img, shape, patch, [fold(net, 3)], { tta });
    assert(outs.every((o) => o.length === 3 * 512), "not fresh: every output left as it was");
    const before = outs.length;
    const freed = await slide(img, shape, patch, [{ ...fold(net, 3), freshOutputs: true }], { tta });
    assertEquals(outs.length, 2 * before);
    assert(outs.slice(before).every((o) => o.length === 0), `tta ${tta}: every fresh output released`);
    assertEquals(freed.logits, kept.logits);
  }
});
