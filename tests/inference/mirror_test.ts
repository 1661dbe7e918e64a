import type { Shape3 } from "../../lib/core/types.ts";
import { flipAxes, MIRROR_AXES, mirrored } from "../../lib/inference/mirror.ts";
import { runWindows } from "../../lib/inference/sliding_window.ts";
import type { TilePredictor } from "../../lib/inference/tiling.ts";
import { type Inference, planWindows } from "../../lib/inference/window.ts";
import { assert, assertEquals } from "../_assert.ts";

/** A network that is not mirror-symmetric: each output depends on the voxel's position and a neighbour. */
function positional(classes: number, calls: { n: number }): TilePredictor {
  return (tile, [a, b, c]) => {
    calls.n++;
    const n = a * b * c;
    const out = new Float32Array(classes * n);
    for (let k = 0; k < classes; k++) {
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) {
          for (let l = 0; l < c; l++) {
            const v = (i * b + j) * c + l;
            const next = (i * b + j) * c + Math.min(l + 1, c - 1);
            out[k * n + v] = tile[v] * (k + 1) + 0.5 * tile[next] + 0.01 * (i + 2 * j + 3 * l) - k;
          }
        }
      }
    }
    return Promise.resolve(out);
  };
}

Deno.test("flipAxes: the 7 nnU-Net axis subsets in its order; flipping twice is the identity", () => {
  assertEquals(MIRROR_AXES.map((m) => m.map((f, i) => (f ? i : "")).join("")), [
    "0",
    "1",
    "2",
    "01",
    "02",
    "12",
    "012",
  ]);
  const shape: Shape3 = [3, 4, 5];
  const x = Float32Array.from({ length: 2 * 60 }, (_, i) => i);
  for (const axes of MIRROR_AXES) assertEquals(flipAxes(flipAxes(x, 2, shape, axes), 2, shape, axes), x);
  // Along x only: each row reversed.
  assertEquals(Array.from(flipAxes(x, 2, shape, [false, false, true]).subarray(0, 5)), [4, 3, 2, 1, 0]);
  // Along the first axis: slab 0 becomes slab 2, in every channel.
  assertEquals(Array.from(flipAxes(x, 2, shape, [true, false, false]).subarray(60, 62)), [100, 101]);
});

Deno.test("mirrored: 8 network passes per tile, equal to the mirrored average computed here in float64", async () => {
  const shape: Shape3 = [4, 5, 6];
  const n = 120, classes = 3;
  const tile = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) * 2);
  const calls = { n: 0 };
  const net = positional(classes, calls);
  const got = await mirrored(net, 1)(tile, shape);
  assertEquals(calls.n, 8);
  // With fresh outputs the 7 mirrored passes' arrays are freed, and the result is the same.
  const outs: Float32Array[] = [];
  const tracked: typeof net = async (t, p) => {
    const o = await net(t, p);
    outs.push(o);
    return o;
  };
  const fresh = await mirrored(tracked, 1, true)(tile, shape);
  assertEquals(fresh, got);
  assertEquals(outs.map((o) => o.length), [classes * n, 0, 0, 0, 0, 0, 0, 0]);
  // Reference: sum over the 8 subsets (none included) of flip(net(flip(x))), / 8, by explicit indices.
  const want = new Float64Array(classes * n);
  const subsets: boolean[][] = [[false, false, false], ...MIRROR_AXES.map((m) => [...m])];
  const [a, b, c] = shape;
  for (const s of subsets) {
    const src = new Float32Array(n);
    const at = (i: number, j: number, l: number) =>
      ((s[0] ? a - 1 - i : i) * b + (s[1] ? b - 1 - j : j)) * c + (s[2] ? c - 1 - l : l);
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) for (let l = 0; l < c; l++) src[at(i, j, l)] = tile[(i * b + j) * c + l];
    }
    const out = await net(src, shape);
    for (let k = 0; k < classes; k++) {
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) {
          for (let l = 0; l < c; l++) want[k * n + (i * b + j) * c + l] += out[k * n + at(i, j, l)] / 8;
        }
      }
    }
  }
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  assert(worst < 1e-6, `mirrored average differs by ${worst}`);
  // The network is not symmetric, so mirroring changed the result.
  const plain = await net(tile, shape);
  assert(
    plain.some((v, i) => Math.abs(v - got[i]) > 1e-3),
    "mirroring made no difference: the test network is symmetric",
  );
});

Deno.test("runWindows with tta: 8 passes per tile, the mirrored average blended as usual", async () => {
  const inf: Inference = {
    mode: "sliding-window",
    starts: "nnunet",
    overlap: 0.5,
    step: 0.5,
    padding: "constant",
    blending: { type: "nnunet", sigmaScale: 1 / 8, valueScale: 10 },
  };
  const shape: Shape3 = [12, 10, 14];
  const img = Float32Array.from({ length: 12 * 10 * 14 }, (_, i) => Math.cos(i * 0.7));
  const plan = planWindows(shape, inf, [8, 8, 8]);
  const calls = { n: 0 }, ref = { n: 0 };
  const tta = await runWindows(img, 1, shape, plan, [{ classes: 2, predict: positional(2, calls) }], { tta: true });
  const manual = await runWindows(img, 1, shape, plan, [{ classes: 2, predict: mirrored(positional(2, ref), 1) }]);
  assertEquals(calls.n, 8 * plan.tiles.length);
  assertEquals(tta.logits, manual.logits);
  for (const layout of ["zyx", "xyz"] as const) {
    const c = { n: 0 };
    await runWindows(img, 1, shape, plan, [{ classes: 2, predict: positional(2, c) }], { layout });
    assertEquals(c.n, plan.tiles.length);
  }
});
