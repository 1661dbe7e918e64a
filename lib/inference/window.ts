/**
 * The window planner: how a network meets a volume. Either one call on the
 * whole (padded) volume, or a sliding window with nnU-Net's starts (fewest
 * tiles at a step fraction) or MONAI's scan intervals, padding up to the
 * patch (zeros or edge replication) and the blending weights (nnU-Net's or
 * MONAI's Gaussian). Pure: shapes in, a plan out.
 *
 * Shapes are (z, y, x).
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { importanceMap, scanStarts } from "./monai_window.ts";
import { gaussianMap, padding, tileStarts } from "./tiling.ts";

/** Sliding-window inference over patches. */
export interface SlidingWindowInference {
  /** `sliding-window`. */
  mode: "sliding-window";
  /**
   * Tile starts: `nnunet` (fewest tiles at a stride of at most
   * step·patch, spread evenly) or `monai` (scan interval
   * int(patch·(1 - overlap)), the last window shifted back).
   */
  starts: "nnunet" | "monai";
  /** Overlap between neighbouring tiles, as a fraction of the patch (MONAI's `overlap`). */
  overlap: number;
  /**
   * `nnunet` starts: the tile step as a fraction of the patch (nnU-Net's
   * `tile_step_size`). Parsing a card fills it from its `tileStep`, or
   * `1 - overlap` where the card gives only an overlap; it is never
   * converted back.
   */
  step?: number;
  /** Padding of axes shorter than the patch (diff//2 before): zeros or edge replication. */
  padding: "constant" | "replicate";
  /**
   * Gaussian importance weights with σ = sigmaScale·patch: `nnunet` (blurred
   * delta scaled to maximum `valueScale`, zeros lifted to the smallest
   * non-zero) or `monai` (product of 1-D curves, not normalised, clamped
   * below at `minimum`).
   */
  blending: { type: "nnunet" | "monai"; sigmaScale: number; valueScale?: number; minimum?: number };
}

/** One network call on the whole (padded) volume. */
export interface WholeVolumeInference {
  /** `whole`. */
  mode: "whole";
  /** Each axis (z, y, x) is padded up to a multiple of these (1: any size). */
  multiple: [number, number, number];
  /** Padding (diff//2 before): zeros or edge replication. */
  padding: "constant" | "replicate";
}

/** How the network is run. */
export type Inference = SlidingWindowInference | WholeVolumeInference;

/** Where the tiles go over a padded volume, and how they are weighted. */
export interface WindowPlan {
  /** Padding per axis (z, y, x): `[before, after]`. */
  pad: [number, number][];
  /** Padding mode. */
  padding: "constant" | "replicate";
  /** The padded shape the tiles cover. */
  paddedShape: Shape3;
  /** The tile (network input) shape. */
  tileShape: Shape3;
  /** Tile starts (z, y, x), z slowest. */
  tiles: number[][];
  /** The weight of each tile voxel in the blend. */
  weights: Float32Array;
}

/** Padding so each axis is a multiple of `m` (diff//2 before). */
export function multiplePadding(shape: Shape3, m: number[]): [number, number][] {
  return shape.map((n, k) => {
    const diff = Math.ceil(n / m[k]) * m[k] - n;
    return [Math.floor(diff / 2), diff - Math.floor(diff / 2)];
  });
}

/** The tile starts (z, y, x) per axis of a sliding window over a padded shape. */
export function windowStarts(inf: SlidingWindowInference, shape: Shape3, patch: Shape3): number[][] {
  if (inf.starts === "monai") return scanStarts(shape, patch, inf.overlap);
  return tileStarts(shape, patch, inf.step ?? 1 - inf.overlap);
}

/** The tile weights of a sliding window. */
export function windowWeights(inf: SlidingWindowInference, patch: Shape3): Float32Array {
  const b = inf.blending;
  if (b.type === "monai") return importanceMap(patch, b.sigmaScale, b.minimum ?? 1e-3);
  return gaussianMap(patch, b.sigmaScale, b.valueScale ?? 10);
}

/** Plans the windows of `inf` over a volume of `shape` (the patch is ignored for whole-volume inference). */
export function planWindows(shape: Shape3, inf: Inference, patch: Shape3): WindowPlan {
  const whole = inf.mode === "whole";
  const pad = whole ? multiplePadding(shape, inf.multiple) : padding(shape, patch);
  const paddedShape = shape.map((n, k) => n + pad[k][0] + pad[k][1]) as Shape3;
  if (whole) {
    const n = paddedShape[0] * paddedShape[1] * paddedShape[2];
    return {
      pad,
      padding: inf.padding,
      paddedShape,
      tileShape: paddedShape,
      tiles: [[0, 0, 0]],
      weights: new Float32Array(n).fill(1),
    };
  }
  const starts = windowStarts(inf, paddedShape, patch);
  const tiles: number[][] = [];
  for (const z of starts[0]) for (const y of starts[1]) for (const x of starts[2]) tiles.push([z, y, x]);
  return { pad, padding: inf.padding, paddedShape, tileShape: [...patch], tiles, weights: windowWeights(inf, patch) };
}
