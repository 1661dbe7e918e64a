/**
 * Intensity normalisation (nnU-Net's `ZScoreNormalization` without a mask).
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
