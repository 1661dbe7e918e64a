/**
 * Spline resizing with `skimage.transform.resize(order=1|3, mode="edge",
 * anti_aliasing=False)` semantics (SciPy `zoom(grid_mode=True,
 * mode="nearest")`, then clipped to the input's range).
 *
 * Order 3: each axis is edge-padded by 12 voxels, B-spline prefiltered in
 * float64 and interpolated with cubic B-spline weights; order 1: linear
 * weights with indices clamped at the edges. Both are separable, so the 3-D
 * resize is three 1-D passes in float64, cast to float32 once at the end —
 * the same arithmetic SciPy does in one 3-D pass, up to float64 rounding.
 *
 * Arrays are (z, y, x) with x fastest (the NIfTI storage of an RAS image).
 *
 * @module
 */

import type { Shape3 } from "../core/types.ts";

/** Python's `round()` (half to even). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * nnU-Net's `compute_new_shape`: `round(spacing / target * shape)` per axis
 * (Python rounding).
 */
export function newShape(shape: number[], spacing: number[], target: number[] | number): Shape3 {
  const t = typeof target === "number" ? [target, target, target] : target;
  return shape.map((n, k) => roundHalfEven(spacing[k] / t[k] * n)) as Shape3;
}

const PAD = 12;
const POLE = Math.sqrt(3) - 2;

/** Per-output-sample taps along one axis: `count` input indices and weights each. */
interface Taps {
  count: number;
  index: Int32Array;
  weight: Float64Array;
}

function taps(nIn: number, nOut: number, order: 1 | 3): Taps {
  const zoom = nIn / nOut;
  const count = order + 1;
  const index = new Int32Array(nOut * count);
  const weight = new Float64Array(nOut * count);
  for (let o = 0; o < nOut; o++) {
    const c = (o + 0.5) * zoom - 0.5;
    const fl = Math.floor(c);
    const t = c - fl;
    if (order === 1) {
      index[2 * o] = Math.min(Math.max(fl, 0), nIn - 1);
      index[2 * o + 1] = Math.min(Math.max(fl + 1, 0), nIn - 1);
      weight[2 * o] = 1 - t;
      weight[2 * o + 1] = t;
    } else {
      // Indices into the padded line (offset PAD); always in range there.
      const start = fl - 1 + PAD;
      const u = 1 - t;
      const w = [u * u * u / 6, (t * t * (t - 2) * 3 + 4) / 6, (u * u * (u - 2) * 3 + 4) / 6, t * t * t / 6];
      for (let k = 0; k < 4; k++) {
        index[4 * o + k] = start + k;
        weight[4 * o + k] = w[k];
      }
    }
  }
  return { count, index, weight };
}

/**
 * Edge-pads by {@linkcode PAD} along the middle axis of an (outer, n, inner)
 * array and applies the cubic B-spline prefilter along it, in float64, with
 * SciPy's boundary initialisation for mode "nearest" (half-sample symmetric).
 */
function padAndPrefilter(
  src: ArrayLike<number>,
  outer: number,
  n: number,
  inner: number,
  into?: Float64Array,
): Float64Array {
  const N = n + 2 * PAD;
  const c = into ? into.subarray(0, outer * N * inner) : new Float64Array(outer * N * inner);
  const z = POLE;
  const gain = (1 - z) * (1 - 1 / z);
  const zN = Math.pow(z, N);
  const scale = z / (1 - zN * zN);
  const f = z / (z - 1);
  // Terms of the causal initial sum below 1e-30 relative cannot change a float64 result.
  let K = 1;
  for (let zk = z; K < N && Math.abs(zk) > 1e-30; K++) zk *= z;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const sb = o * n, b = o * N;
      for (let k = 0; k < N; k++) {
        const sk = k < PAD ? 0 : k - PAD >= n ? n - 1 : k - PAD;
        c[b + k] = src[sb + sk] * gain;
      }
      let acc = c[b] + zN * c[b + N - 1];
      let zk = z;
      for (let k = 1; k < K; k++) {
        acc += zk * (c[b + k] + zN * c[b + N - 1 - k]);
        zk *= z;
      }
      c[b] = acc * scale + c[b];
      for (let k = 1; k < N; k++) c[b + k] += z * c[b + k - 1];
      c[b + N - 1] *= f;
      for (let k = N - 2; k >= 0; k--) c[b + k] = z * (c[b + k + 1] - c[b + k]);
    }
    return c;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const sBase = o * n * inner;
    const cBase = o * N * inner;
    for (let k = 0; k < N; k++) {
      const sk = Math.min(Math.max(k - PAD, 0), n - 1);
      const s = sBase + sk * inner;
      const d = cBase + k * inner;
      for (let i = 0; i < inner; i++) c[d + i] = src[s + i] * gain;
    }
    // Causal initialisation (SciPy, mode "nearest"/"reflect"):
    // c[0] += z/(1 - z^2N) * (z^N c[N-1] + c[0]... ) — see _init_causal_reflect.
    const first = cBase, last = cBase + (N - 1) * inner;
    for (let i = 0; i < inner; i++) acc[i] = c[first + i] + zN * c[last + i];
    let zk = z;
    for (let k = 1; k < K; k++) {
      const a = cBase + k * inner, b = cBase + (N - 1 - k) * inner;
      for (let i = 0; i < inner; i++) acc[i] += zk * (c[a + i] + zN * c[b + i]);
      zk *= z;
    }
    for (let i = 0; i < inner; i++) c[first + i] = acc[i] * scale + c[first + i];
    for (let k = 1; k < N; k++) {
      const a = cBase + k * inner, p = a - inner;
      for (let i = 0; i < inner; i++) c[a + i] += z * c[p + i];
    }
    for (let i = 0; i < inner; i++) c[last + i] *= f;
    for (let k = N - 2; k >= 0; k--) {
      const a = cBase + k * inner, nx = a + inner;
      for (let i = 0; i < inner; i++) c[a + i] = z * (c[nx + i] - c[a + i]);
    }
  }
  return c;
}

/** Interpolates an (outer, nSrc, inner) array along its middle axis into `out` (outer, nOut, inner). */
function interpolate(
  src: ArrayLike<number>,
  outer: number,
  nSrc: number,
  inner: number,
  nOut: number,
  t: Taps,
  out: Float64Array,
): Float64Array {
  const { count, index, weight } = t;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const s = o * nSrc, d = o * nOut;
      if (count === 2) {
        for (let j = 0; j < nOut; j++) {
          out[d + j] = weight[2 * j] * src[s + index[2 * j]] + weight[2 * j + 1] * src[s + index[2 * j + 1]];
        }
      } else {
        for (let j = 0; j < nOut; j++) {
          const q = 4 * j;
          out[d + j] = weight[q] * src[s + index[q]] + weight[q + 1] * src[s + index[q + 1]] +
            weight[q + 2] * src[s + index[q + 2]] + weight[q + 3] * src[s + index[q + 3]];
        }
      }
    }
    return out;
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nOut; j++) {
      const d = (o * nOut + j) * inner;
      if (count === 2) {
        const w0 = weight[2 * j], w1 = weight[2 * j + 1];
        const s0 = (o * nSrc + index[2 * j]) * inner, s1 = (o * nSrc + index[2 * j + 1]) * inner;
        for (let i = 0; i < inner; i++) out[d + i] = w0 * src[s0 + i] + w1 * src[s1 + i];
      } else {
        const q = 4 * j;
        const w0 = weight[q], w1 = weight[q + 1], w2 = weight[q + 2], w3 = weight[q + 3];
        const s0 = (o * nSrc + index[q]) * inner, s1 = (o * nSrc + index[q + 1]) * inner;
        const s2 = (o * nSrc + index[q + 2]) * inner, s3 = (o * nSrc + index[q + 3]) * inner;
        for (let i = 0; i < inner; i++) {
          out[d + i] = w0 * src[s0 + i] + w1 * src[s1 + i] + w2 * src[s2 + i] + w3 * src[s3 + i];
        }
      }
    }
  }
  return out;
}

/** One planned 1-D pass. */
interface Pass {
  outer: number;
  n: number;
  inner: number;
  m: number;
  taps: Taps;
}

/**
 * A planned resize between two shapes: taps and scratch buffers are made
 * once, so resizing many channels of the same shape allocates nothing.
 */
export class Resizer {
  readonly inShape: Shape3;
  readonly outShape: Shape3;
  readonly order: 1 | 3;
  #passes: Pass[] = [];
  #scratch: Float64Array[] = [];
  #padded: Float64Array | undefined;

  /** Plans the passes (shrinking axes first keeps the intermediates small). */
  constructor(inShape: Shape3, outShape: Shape3, order: 1 | 3) {
    this.inShape = inShape;
    this.outShape = outShape;
    this.order = order;
    const axes = [0, 1, 2].sort((a, b) => outShape[a] / inShape[a] - outShape[b] / inShape[b]);
    const shape: number[] = [...inShape];
    let biggest = 0, biggestPadded = 0;
    for (const ax of axes) {
      const n = shape[ax], m = outShape[ax];
      if (n === m) continue;
      const outer = shape.slice(0, ax).reduce((a, c) => a * c, 1);
      const inner = shape.slice(ax + 1).reduce((a, c) => a * c, 1);
      this.#passes.push({ outer, n, inner, m, taps: taps(n, m, order) });
      shape[ax] = m;
      biggest = Math.max(biggest, outer * m * inner);
      biggestPadded = Math.max(biggestPadded, outer * (n + 2 * PAD) * inner);
    }
    if (order === 3 && this.#passes.length) this.#padded = new Float64Array(biggestPadded);
    const k = Math.min(this.#passes.length, 2);
    for (let i = 0; i < k; i++) this.#scratch.push(new Float64Array(biggest));
  }

  /** Resizes `src` (input shape) into `out` (output shape), clipped to the input's range unless `clip` is false. */
  run(src: ArrayLike<number>, out: Float32Array, clip = true): Float32Array {
    const total = this.outShape[0] * this.outShape[1] * this.outShape[2];
    if (out.length !== total) throw new RangeError(`output has ${out.length} values, shape needs ${total}`);
    let lo = Infinity, hi = -Infinity;
    if (clip) {
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    let cur: ArrayLike<number> = src;
    this.#passes.forEach((p, k) => {
      const dst = this.#scratch[k % 2];
      if (this.order === 3) {
        const padded = padAndPrefilter(cur, p.outer, p.n, p.inner, this.#padded);
        cur = interpolate(padded, p.outer, p.n + 2 * PAD, p.inner, p.m, p.taps, dst);
      } else {
        cur = interpolate(cur, p.outer, p.n, p.inner, p.m, p.taps, dst);
      }
    });
    if (!clip || cur === src) {
      for (let i = 0; i < total; i++) out[i] = cur[i];
    } else {
      for (let i = 0; i < total; i++) {
        const v = Math.fround(cur[i]);
        out[i] = v < lo ? lo : v > hi ? hi : v;
      }
    }
    return out;
  }
}

/** Options for {@linkcode resize}. */
export interface ResizeOptions {
  /** Write the result here (length of the output shape) instead of allocating. */
  out?: Float32Array;
  /** Clip to the input's [min, max] like skimage's `clip=True`. @default true */
  clip?: boolean;
}

/**
 * `skimage.transform.resize(a, outShape, order, mode="edge",
 * anti_aliasing=False)` for a (z, y, x) array, x fastest; returns float32.
 */
export function resize(
  src: ArrayLike<number>,
  inShape: Shape3,
  outShape: Shape3,
  order: 1 | 3,
  options: ResizeOptions = {},
): Float32Array {
  const out = options.out ?? new Float32Array(outShape[0] * outShape[1] * outShape[2]);
  return new Resizer(inShape, outShape, order).run(src, out, options.clip !== false);
}
