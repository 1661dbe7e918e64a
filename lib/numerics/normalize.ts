/**
 * Intensity normalisation: nnU-Net's `ZScoreNormalization` without a mask, and
 * the steps model cards name (z-score over non-zero voxels, rescale, CT window).
 *
 * @module
 */

/** Result of {@linkcode zscoreInPlace}. */
export interface ZScoreStats {
  mean: number;
  std: number;
  /** Non-finite voxels that were set to 0 first. */
  nonFinite: number;
}

/**
 * `(x - mean) / max(std, 1e-8)` over the whole array, in place. Sums are
 * accumulated in float64; non-finite voxels are treated as 0.
 */
export function zscoreInPlace(data: Float32Array): ZScoreStats {
  let nonFinite = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      data[i] = 0;
      nonFinite++;
    } else sum += v;
  }
  const n = data.length || 1;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const d = data[i] - mean;
    ss += d * d;
  }
  const std = Math.sqrt(ss / n);
  // Element-wise in float32, as numpy does with float32 mean and std.
  const m32 = Math.fround(mean);
  const s32 = Math.fround(Math.max(std, 1e-8));
  for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i] - m32) / s32;
  return { mean, std, nonFinite };
}

/**
 * Z-score over the non-zero voxels only, zeros staying zero (MONAI
 * `NormalizeIntensity(nonzero=True)`), in place; float32 element arithmetic,
 * float64 sums. A constant channel is only shifted (std taken as 1).
 * Non-finite voxels are set to 0 first.
 */
export function zscoreNonzeroInPlace(data: Float32Array): ZScoreStats {
  let nonFinite = 0;
  let sum = 0, n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      data[i] = 0;
      nonFinite++;
    } else if (v !== 0) {
      sum += v;
      n++;
    }
  }
  if (!n) return { mean: 0, std: 1, nonFinite };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0) {
      const d = data[i] - mean;
      ss += d * d;
    }
  }
  const std = Math.sqrt(ss / n);
  const m32 = Math.fround(mean);
  const s32 = Math.fround(std === 0 ? 1 : std);
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) data[i] = Math.fround(data[i] - m32) / s32;
  return { mean, std, nonFinite };
}

/**
 * Linear map of the image's [min, max] onto `range` (MONAI `ScaleIntensity`),
 * in place, float32 element arithmetic; a constant image becomes `range[0]`.
 */
export function rescaleInPlace(data: Float32Array, range: [number, number]): void {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const f = Math.fround;
  if (!(hi > lo)) {
    data.fill(range[0]);
    return;
  }
  const span = f(hi - lo), width = f(range[1] - range[0]);
  for (let i = 0; i < data.length; i++) data[i] = f(f(f(data[i] - lo) / span) * width) + range[0];
}

/**
 * Clip to `window` and map it linearly onto `range` (MONAI
 * `ScaleIntensityRange(a_min, a_max, b_min, b_max, clip=True)`, the usual
 * CT window), in place.
 */
export function windowInPlace(data: Float32Array, window: [number, number], range: [number, number]): void {
  const f = Math.fround;
  const [a, b] = window;
  const span = f(b - a), width = f(range[1] - range[0]);
  for (let i = 0; i < data.length; i++) {
    const v = f(f(f(data[i] - a) / span) * width) + range[0];
    data[i] = Math.min(Math.max(v, range[0]), range[1]);
  }
}

/** One normalisation step as a model card names it (see `NormalizationStep` in `model_card.ts`). */
export type NormalizeStep =
  | { type: "zscore" }
  | { type: "zscore-nonzero" }
  | { type: "rescale"; range: [number, number] }
  | { type: "window"; window: [number, number]; range: [number, number] };

/**
 * Applies a channel's steps in order, in place; returns the statistics of
 * the first z-score (or zeros when none), non-finite voxels counted.
 */
export function normalizeInPlace(data: Float32Array, steps: NormalizeStep[]): ZScoreStats {
  let stats: ZScoreStats | undefined;
  let nonFinite = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      data[i] = 0;
      nonFinite++;
    }
  }
  for (const s of steps) {
    if (s.type === "zscore") stats ??= zscoreInPlace(data);
    else if (s.type === "zscore-nonzero") stats ??= zscoreNonzeroInPlace(data);
    else if (s.type === "rescale") rescaleInPlace(data, s.range);
    else windowInPlace(data, s.window, s.range);
  }
  return { mean: stats?.mean ?? 0, std: stats?.std ?? 1, nonFinite };
}
