/**
 * Test-time augmentation by mirroring, as nnU-Net's predictor does it
 * (`_internal_maybe_mirror_and_predict`): the tile, then the tile flipped
 * along every non-empty subset of the three spatial axes (first each axis,
 * then each pair, then all three: 8 network passes), each output flipped
 * back and added in that order in float32, the sum divided by 8. The
 * average is in logit space, before the Gaussian weighting of the tile.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import type { TilePredictor } from "./tiling.ts";
import { releaseBuffer } from "../core/bytes.ts";

/**
 * The axis subsets of nnU-Net's mirroring, in its order
 * (`itertools.combinations` by size): each a [flip axis 0, axis 1, axis 2]
 * mask of the tensor's spatial axes.
 */
export const MIRROR_AXES: readonly (readonly [boolean, boolean, boolean])[] = [
  [true, false, false],
  [false, true, false],
  [false, false, true],
  [true, true, false],
  [true, false, true],
  [false, true, true],
  [true, true, true],
];

/**
 * Flips a (C, a, b, c) array along the spatial axes marked in `axes` into
 * `out` (a new array when not given). Flipping twice gives the input back.
 */
export function flipAxes(
  data: Float32Array,
  channels: number,
  shape: Shape3,
  axes: readonly [boolean, boolean, boolean],
  out?: Float32Array,
): Float32Array {
  const [a, b, c] = shape;
  const n = a * b * c;
  const res = out ?? new Float32Array(channels * n);
  for (let ch = 0; ch < channels; ch++) {
    const base = ch * n;
    for (let i = 0; i < a; i++) {
      const si = axes[0] ? a - 1 - i : i;
      for (let j = 0; j < b; j++) {
        const sj = axes[1] ? b - 1 - j : j;
        const d = base + (i * b + j) * c;
        const s = base + (si * b + sj) * c;
        if (axes[2]) { for (let k = 0; k < c; k++) res[d + k] = data[s + c - 1 - k]; }
        else res.set(data.subarray(s, s + c), d);
      }
    }
  }
  return res;
}

/**
 * Wraps a tile predictor into nnU-Net's mirrored average: 8 calls of
 * `predict` per tile. `channels` is the tile's input channel count. With
 * `fresh` (each call returns a new array nothing else holds), the mirrored
 * passes' outputs are freed once added rather than at V8's next collection.
 */
export function mirrored(predict: TilePredictor, channels: number, fresh = false): TilePredictor {
  return async (tile, patch) => {
    const sum = await predict(tile, patch);
    // The predictor's own output is the accumulator (nnU-Net's `prediction +=`).
    const flipped = new Float32Array(tile.length);
    let back: Float32Array | undefined;
    for (const axes of MIRROR_AXES) {
      const out = await predict(flipAxes(tile, channels, patch, axes, flipped), patch);
      if (out.length !== sum.length) {
        throw new RangeError(`network returned ${out.length} values for a mirrored tile, ${sum.length} for the tile`);
      }
      back = flipAxes(out, out.length / (tile.length / channels), patch, axes, back);
      if (fresh) releaseBuffer(out);
      for (let i = 0; i < sum.length; i++) sum[i] += back[i];
    }
    const k = MIRROR_AXES.length + 1;
    for (let i = 0; i < sum.length; i++) sum[i] /= k;
    return sum;
  };
}
