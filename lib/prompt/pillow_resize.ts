/**
 * Pillow's bilinear `Image.resize` on 8-bit images, bit for bit (Pillow
 * 9.4, `libImaging/Resample.c`): per axis, triangle weights in double
 * (widened by the scale when downscaling, so up to 2⌈scale⌉+1 taps),
 * normalised, turned into 22-bit fixed point, and applied with rounding and
 * clipping to uint8; the horizontal pass runs first and its uint8 result
 * feeds the vertical pass. SAM's `ResizeLongestSide.apply_image` reaches
 * this through torchvision's `F.resize` on a PIL image.
 *
 * @module
 */

/** Fixed-point precision of Pillow's 8-bit resampling (32 - 8 - 2). */
const PRECISION_BITS = 22;

/** One axis's taps: for output i, `count[i]` weights from input `first[i]`. */
export interface AxisTaps {
  /** Taps per output (the stride of `weights`). */
  size: number;
  /** First input index of each output. */
  first: Int32Array;
  /** Number of taps used by each output. */
  count: Int32Array;
  /** Fixed-point weights, `size` per output. */
  weights: Int32Array;
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear
 * filter (support 1) mapping `inSize` samples onto `outSize`.
 */
export function bilinearTaps(inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // bilinear support 1.0 times the filter scale
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * size);
  const w = new Float64Array(size);
  const ss = 1 / filterScale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1 ? 1 - t : 0;
      sum += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = sum !== 0 ? w[x] / sum : w[x];
      weights[i * size + x] = k < 0
        ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    first[i] = xmin;
    count[i] = xmax;
  }
  return { size, first, count, weights };
}

function clip8(v: number): number {
  if (v >= 1 << PRECISION_BITS << 8) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** An interleaved 8-bit image: `height` rows of `width` pixels of `channels` bytes. */
export interface U8Image {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Bytes per pixel. */
  channels: number;
  /** Row-major, channels interleaved. */
  data: Uint8Array;
}

function horizontal(img: U8Image, outW: number): U8Image {
  const { width, height, channels: c, data } = img;
  const t = bilinearTaps(width, outW);
  const out = new Uint8Array(outW * height * c);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    for (let x = 0; x < outW; x++) {
      const k0 = x * t.size, n = t.count[x], x0 = t.first[x];
      for (let ch = 0; ch < c; ch++) {
        let ss = half;
        for (let j = 0; j < n; j++) ss += data[row + (x0 + j) * c + ch] * t.weights[k0 + j];
        out[(y * outW + x) * c + ch] = clip8(ss);
      }
    }
  }
  return { width: outW, height, channels: c, data: out };
}

function vertical(img: U8Image, outH: number): U8Image {
  const { width, height, channels: c, data } = img;
  const t = bilinearTaps(height, outH);
  const stride = width * c;
  const out = new Uint8Array(outH * stride);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < outH; y++) {
    const k0 = y * t.size, n = t.count[y], y0 = t.first[y];
    for (let i = 0; i < stride; i++) {
      let ss = half;
      for (let j = 0; j < n; j++) ss += data[(y0 + j) * stride + i] * t.weights[k0 + j];
      out[y * stride + i] = clip8(ss);
    }
  }
  return { width, height: outH, channels: c, data: out };
}

/**
 * Pillow's `Image.resize((outW, outH), BILINEAR)`: a copy when the size is
 * unchanged, else the horizontal pass (when the width changes) and then the
 * vertical pass (when the height changes).
 *
 * @example
 * ```ts
 * import { resizeBilinear } from "./pillow_resize.ts";
 *
 * const img = { width: 2, height: 1, channels: 1, data: new Uint8Array([0, 255]) };
 * console.log([...resizeBilinear(img, 4, 1).data]); // [0, 64, 191, 255]
 * ```
 */
export function resizeBilinear(img: U8Image, outW: number, outH: number): U8Image {
  if (!(outW >= 1 && outH >= 1)) throw new RangeError(`cannot resize to ${outW}x${outH}`);
  let cur = img;
  if (outW !== img.width) cur = horizontal(cur, outW);
  if (outH !== img.height) cur = vertical(cur, outH);
  return cur === img ? { ...img, data: img.data.slice() } : cur;
}
