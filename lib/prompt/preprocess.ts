/**
 * SAMRI's image preprocessing, step by step as its `inference.py` and SAM's
 * `SamPredictor.set_image` do it: min-max to uint8 with round-half-even
 * (NumPy's `rint`, in float64), grey to RGB, the longest side to 1024 with
 * Pillow's bilinear resize, per-channel mean/std in float32 and zero padding
 * at the bottom and right to a square.
 *
 * @module
 */
import { resizeBilinear, type U8Image } from "./pillow_resize.ts";

/** A 2-D slice: `height` rows (y) of `width` columns (x), row-major float64 values. */
export interface Slice2D {
  /** Rows (H). */
  height: number;
  /** Columns (W). */
  width: number;
  /** Values, row-major: pixel (row r, column c) at `r * width + c`. */
  data: Float64Array;
}

/** NumPy's `rint`: round half to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `np.rint((v - min) / (max - min) * 255.0).astype(uint8)` in float64, in
 * that operation order; a constant image gives all zeros (SAMRI's rule).
 *
 * @example
 * ```ts
 * import { toUint8 } from "./preprocess.ts";
 *
 * console.log([...toUint8(new Float64Array([0, 0.5, 1, 2]))]); // [0, 64, 128, 255]
 * ```
 */
export function toUint8(values: ArrayLike<number>): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Uint8Array(values.length);
  if (!(hi > lo)) return out;
  const range = hi - lo;
  for (let i = 0; i < values.length; i++) out[i] = rint((values[i] - lo) / range * 255.0);
  return out;
}

/** Whether a slice holds one value only (SAMRI then segments an all-zero image). */
export function isConstant(values: ArrayLike<number>): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

/** Grey uint8 (H, W) → interleaved RGB with three equal channels. */
export function greyToRgb(grey: Uint8Array, width: number, height: number): U8Image {
  const data = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = grey[i];
  return { width, height, channels: 3, data };
}

/**
 * SAM's `get_preprocess_shape`: the (height, width) whose longest side is
 * `longSide`, each `int(x * s + 0.5)` in float64.
 *
 * @example
 * ```ts
 * import { targetSize } from "./preprocess.ts";
 *
 * console.log(targetSize(181, 217), targetSize(97, 2051)); // [854, 1024] [48, 1024]
 * ```
 */
export function targetSize(height: number, width: number, longSide = 1024): [number, number] {
  const s = longSide / Math.max(height, width);
  return [Math.trunc(height * s + 0.5), Math.trunc(width * s + 0.5)];
}

/** The normalisation constants of SAM's `preprocess`. */
export interface PixelStats {
  /** Per-channel mean (R, G, B). */
  mean: [number, number, number];
  /** Per-channel standard deviation. */
  std: [number, number, number];
}

/** SAM's pixel mean and std (ImageNet's, in 0-255). */
export const SAM_PIXEL_STATS: PixelStats = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };

/**
 * `(u - mean_c) / std_c` in float32 (one rounding after each operation), as
 * a 1x3xSxS planar tensor zero-padded at the bottom and right.
 */
export function normalizePad(img: U8Image, size: number, stats: PixelStats = SAM_PIXEL_STATS): Float32Array {
  if (img.channels !== 3) throw new RangeError(`expected an RGB image, got ${img.channels} channels`);
  if (img.width > size || img.height > size) throw new RangeError(`image ${img.width}x${img.height} exceeds ${size}`);
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(stats.mean[c]), s = Math.fround(stats.std[c]);
    // The 256 possible values, each computed as torch does in float32.
    const lut = new Float32Array(256);
    for (let u = 0; u < 256; u++) lut[u] = Math.fround(Math.fround(u - m) / s);
    const plane = c * size * size;
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width * 3;
      for (let x = 0; x < img.width; x++) out[plane + y * size + x] = lut[img.data[row + 3 * x + c]];
    }
  }
  return out;
}

/** Everything the encoder needs from one slice, and the sizes the prompts need. */
export interface Prepared {
  /** Original rows (H). */
  height: number;
  /** Original columns (W). */
  width: number;
  /** The uint8 RGB image (H, W, 3). */
  rgb: U8Image;
  /** The resized image (newh, neww, 3). */
  resized: U8Image;
  /** Encoder input, 1x3xSxS float32. */
  input: Float32Array;
  /** Whether the slice held one value only (all-zero image). */
  constant: boolean;
}

/**
 * The whole chain for a grey slice: uint8, RGB, resize, normalise, pad.
 *
 * @example
 * ```ts
 * import { prepareSlice } from "./preprocess.ts";
 *
 * const p = prepareSlice({ height: 2, width: 4, data: new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]) }, 8);
 * console.log(p.resized.width, p.resized.height, p.input.length); // 8 4 192
 * ```
 */
export function prepareSlice(slice: Slice2D, longSide = 1024, stats: PixelStats = SAM_PIXEL_STATS): Prepared {
  return prepareRgb(
    greyToRgb(toUint8(slice.data), slice.width, slice.height),
    longSide,
    stats,
    isConstant(slice.data),
  );
}

/** The chain from an 8-bit RGB image on: resize, normalise, pad. */
export function prepareRgb(
  rgb: U8Image,
  longSide = 1024,
  stats: PixelStats = SAM_PIXEL_STATS,
  constant = false,
): Prepared {
  const [h, w] = targetSize(rgb.height, rgb.width, longSide);
  const resized = resizeBilinear(rgb, w, h);
  return {
    height: rgb.height,
    width: rgb.width,
    rgb,
    resized,
    input: normalizePad(resized, longSide, stats),
    constant,
  };
}
