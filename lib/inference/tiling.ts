/**
 * Sliding-window inference (nnU-Net's `predict_sliding_window_return_logits`):
 * zero padding up to the patch, tile starts for a step fraction, Gaussian
 * importance weights, tile extraction (the loop itself is
 * `sliding_window.ts`).
 *
 * Arrays are (z, y, x) with x fastest.
 *
 * @module
 */
import { LogitAccumulator } from "./ensemble.ts";
import { roundHalfEven } from "../geometry/resample.ts";
import { type Shape3 } from "../core/types.ts";

/**
 * nnU-Net's `compute_steps_for_sliding_window`: per axis, the fewest tiles
 * at a stride of at most `step * patch`, spread evenly, starts rounded half
 * to even (numpy).
 */
export function tileStarts(size: number[], patch: number[], step = 0.5): number[][] {
  return size.map((n, k) => {
    const p = patch[k];
    if (n < p) throw new RangeError(`axis ${k}: size ${n} is smaller than the patch ${p}; pad first`);
    const target = p * step;
    const count = Math.ceil((n - p) / target) + 1;
    const maxStart = n - p;
    const stride = count > 1 ? maxStart / (count - 1) : 99999999999;
    return Array.from({ length: count }, (_, i) => roundHalfEven(stride * i));
  });
}

/** Gaussian-filter kernel of SciPy (`_gaussian_kernel1d`, order 0, truncate 4). */
function gaussianKernel1d(sigma: number): Float64Array {
  const radius = Math.trunc(4 * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-0.5 / (sigma * sigma) * i * i);
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * nnU-Net's `compute_gaussian`: a delta at `patch // 2` blurred by
 * `scipy.ndimage.gaussian_filter(sigma = patch * sigmaScale, mode="constant")`,
 * scaled so its maximum is `valueScale`, zeros replaced by the smallest
 * nonzero value. Float32, (z, y, x), x fastest.
 */
export function gaussianMap(patch: Shape3, sigmaScale = 1 / 8, valueScale = 10): Float32Array {
  const axes = patch.map((p) => {
    const k = gaussianKernel1d(p * sigmaScale);
    const r = (k.length - 1) / 2;
    const c = Math.floor(p / 2);
    const v = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      const d = i - c;
      v[i] = Math.abs(d) <= r ? k[d + r] : 0;
    }
    return v;
  });
  const [pz, py, px] = patch;
  const g64 = new Float64Array(pz * py * px);
  let max = 0;
  let i = 0;
  for (let z = 0; z < pz; z++) {
    for (let y = 0; y < py; y++) {
      const zy = axes[0][z] * axes[1][y];
      for (let x = 0; x < px; x++, i++) {
        const v = zy * axes[2][x];
        g64[i] = v;
        if (v > max) max = v;
      }
    }
  }
  const out = new Float32Array(g64.length);
  const div = max / valueScale;
  let minNonzero = Infinity;
  for (let j = 0; j < out.length; j++) {
    out[j] = g64[j] / div;
    if (out[j] !== 0 && out[j] < minNonzero) minNonzero = out[j];
  }
  for (let j = 0; j < out.length; j++) if (out[j] === 0) out[j] = minNonzero;
  return out;
}

/** Padding per axis so each axis is at least the patch: `[before, after]`, before = diff // 2. */
export function padding(shape: Shape3, patch: Shape3): [number, number][] {
  return shape.map((n, k) => {
    const diff = Math.max(0, patch[k] - n);
    const lo = Math.floor(diff / 2);
    return [lo, diff - lo];
  });
}

/**
 * Pads a (z, y, x) array with zeros (`constant`, nnU-Net) or by repeating the
 * edge voxels (`replicate`, MONAI's `padding_mode`); returns the array
 * unchanged if no padding is needed.
 */
export function padVolume(
  data: Float32Array,
  shape: Shape3,
  pad: [number, number][],
  mode: "constant" | "replicate" = "constant",
): { data: Float32Array; shape: Shape3 } {
  if (pad.every(([a, b]) => a === 0 && b === 0)) return { data, shape };
  const ps = shape.map((n, k) => n + pad[k][0] + pad[k][1]) as Shape3;
  const out = new Float32Array(ps[0] * ps[1] * ps[2]);
  const [nz, ny, nx] = shape;
  if (mode === "replicate") {
    const c = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
    let o = 0;
    for (let z = 0; z < ps[0]; z++) {
      for (let y = 0; y < ps[1]; y++) {
        const row = (c(z - pad[0][0], nz) * ny + c(y - pad[1][0], ny)) * nx;
        for (let x = 0; x < ps[2]; x++, o++) out[o] = data[row + c(x - pad[2][0], nx)];
      }
    }
    return { data: out, shape: ps };
  }
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const s = (z * ny + y) * nx;
      const d = ((z + pad[0][0]) * ps[1] + (y + pad[1][0])) * ps[2] + pad[2][0];
      out.set(data.subarray(s, s + nx), d);
    }
  }
  return { data: out, shape: ps };
}

/** Copies the patch at `start` out of a (z, y, x) array into `out`. */
export function extractTile(
  data: Float32Array,
  shape: Shape3,
  start: number[],
  patch: Shape3,
  out: Float32Array,
): void {
  const [pz, py, px] = patch;
  const [, ny, nx] = shape;
  let o = 0;
  for (let z = 0; z < pz; z++) {
    for (let y = 0; y < py; y++) {
      const s = ((start[0] + z) * ny + start[1] + y) * nx + start[2];
      out.set(data.subarray(s, s + px), o);
      o += px;
    }
  }
}

/** One network call: a (1, 1, z, y, x) tile in, (1, C, z, y, x) logits out. */
export type TilePredictor = (tile: Float32Array, patch: Shape3) => Promise<Float32Array>;

/** Progress of the tile loop. */
export interface TileProgress {
  /** Tiles done in this fold. */
  tile: number;
  /** Tiles per fold. */
  tiles: number;
  /** Seconds spent inside the predictor for this tile. */
  seconds: number;
}

export { LogitAccumulator };
