/**
 * MONAI's sliding-window geometry, as read from MONAI's source
 * (`sliding_window_inference` / `dense_patch_slices`,
 * `compute_importance_map`): the scan-interval tile starts and the Gaussian
 * importance map.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";

/**
 * MONAI's scan interval and `dense_patch_slices` along each axis of an
 * (already padded) image: interval `int(roi * (1 - overlap))` (the roi itself
 * when the axis equals it), starts `d * interval` shifted back to end inside
 * the image, until a window reaches the end.
 */
export function scanStarts(size: number[], roi: number[], overlap: number): number[][] {
  return size.map((n, a) => {
    const p = roi[a];
    if (n < p) throw new RangeError(`axis ${a}: size ${n} is smaller than the window ${p}; pad first`);
    const interval = n === p ? p : Math.max(Math.trunc(p * (1 - overlap)), 1);
    const starts: number[] = [];
    for (let d = 0;; d++) {
      const s = d * interval;
      starts.push(s - Math.max(s + p - n, 0));
      if (s + p >= n) break;
    }
    return starts;
  });
}

/**
 * `compute_importance_map(roi, mode="gaussian", sigma_scale)`: per axis
 * exp(-x²/(2σ²)) with x = i - (n-1)/2 and σ = n·sigmaScale, the product of
 * the three curves in float32 in MONAI's order (not normalised), clamped below at
 * max(min, 1e-3). (z, y, x) order, x fastest.
 */
export function importanceMap(roi: Shape3, sigmaScale: number, minimum = 1e-3): Float32Array {
  const f = Math.fround;
  const axes = roi.map((n) => {
    const s = n * sigmaScale;
    const den = f(-2 * s * s);
    return Float32Array.from({ length: n }, (_, i) => {
      const x = f(i - (n - 1) / 2);
      return f(Math.exp(f(f(x * x) / den)));
    });
  });
  const [pz, py, px] = roi;
  const out = new Float32Array(pz * py * px);
  let lo = Infinity;
  let o = 0;
  for (let z = 0; z < pz; z++) {
    for (let y = 0; y < py; y++) {
      for (let x = 0; x < px; x++, o++) {
        // MONAI's order: (axis i · axis j) · axis k, i.e. (x · y) · z.
        const v = f(f(axes[2][x] * axes[1][y]) * axes[0][z]);
        out[o] = v;
        if (v < lo) lo = v;
      }
    }
  }
  const floor = f(Math.max(lo, minimum));
  for (let i = 0; i < out.length; i++) if (out[i] < floor) out[i] = floor;
  return out;
}
