/**
 * Model cards: everything model-specific (classes, colours, spacing, patch,
 * normalisation, inference, weights) as data in `models/*.json`. This file
 * holds the card's types; parsing is `parse.ts`, spacing and patch rules
 * `rules.ts`, the shipped cards `shipped.ts`.
 *
 * @module
 */
import type { NormalizeStep } from "../numerics/normalize.ts";
import type { Inference } from "../inference/window.ts";

/** One output class. */
export interface ClassInfo {
  /** Label value. */
  index: number;
  /** Human-readable name. */
  name: string;
  /** Short name (column names, legends). */
  abbreviation: string;
  /** RGBA, 0-255. */
  color: [number, number, number, number];
  /**
   * Abbreviation of the closest label in BIDS's standard label lookup
   * ({@linkcode BIDS_STANDARD_LABELS}: BG, GM, WM, CSF, B, ST, NB, L, CGM, SGM, BS, CBM);
   * absent where none fits (`dseg.tsv`'s mapping is then `n/a`).
   */
  bids?: string;
}

/**
 * BIDS's standard, generic label-index lookup ("Common image-derived labels"
 * in the derivatives spec): abbreviation to integer. `dseg.tsv`'s `mapping`
 * column holds these integers.
 */
export const BIDS_STANDARD_LABELS: Readonly<Record<string, number>> = {
  BG: 0,
  GM: 1,
  WM: 2,
  CSF: 3,
  B: 4,
  ST: 5,
  NB: 6,
  L: 7,
  CGM: 8,
  SGM: 9,
  BS: 10,
  CBM: 11,
};

/** Whether `s` is an abbreviation of {@linkcode BIDS_STANDARD_LABELS}. */
export const isBidsLabel = (s: unknown): boolean => typeof s === "string" && Object.hasOwn(BIDS_STANDARD_LABELS, s);

/**
 * One intensity normalisation step:
 * - `zscore`: nnU-Net's z-score over every voxel of the (cropped) image;
 * - `zscore-nonzero`: z-score over the non-zero voxels, zeros stay zero
 *   (MONAI `NormalizeIntensity(nonzero=True)`, BraTS channels);
 * - `rescale`: the image's min..max mapped linearly onto `range` (MONAI
 *   `ScaleIntensity(minv, maxv)`);
 * - `window`: values clipped to `window` (e.g. CT HU) and mapped linearly
 *   onto `range` (MONAI `ScaleIntensityRange(..., clip=True)`).
 */
export type NormalizationStep = NormalizeStep;

/** A channel's normalisation: one step, or steps applied in order. */
export type Normalization = NormalizationStep | NormalizationStep[];

/** How the image is prepared before inference. */
export interface Preprocessing {
  /** `RAS`: reorient to the closest canonical (RAS) axes first; `none`: use the stored axes. */
  orientation: "RAS" | "none";
  /** `nonzero`: crop to the bounding box of non-zero voxels (nnU-Net); `none`: keep the whole image. */
  crop: "nonzero" | "none";
  /** Normalise before (nnU-Net) or after (MONAI) resampling to the target spacing. */
  normalize: "before-resampling" | "after-resampling";
}

export type { Inference, SlidingWindowInference, WholeVolumeInference } from "../inference/window.ts";

/** A named group of labels (e.g. BraTS whole tumour = {1, 2, 3}). */
export interface Region {
  /** Short name (WT, TC, ET). */
  abbreviation: string;
  /** Human-readable name. */
  name: string;
  /** Labels in the region. */
  labels: number[];
}

/** A merge of the model's classes into fewer (e.g. SPM12's 6 tissues). */
export interface ClassMerge {
  /** The merged classes, in label order. */
  classes: ClassInfo[];
  /** `map[c]`: the merged class of model class `c`. */
  map: number[];
  /** Merged classes counted as intracranial. */
  intracranial: number[];
}

/**
 * A model card (see `models/siam-v0.3.json`). A parsed card (from
 * {@linkcode validateCard}, {@linkcode loadCard}, {@linkcode shippedCard})
 * has every optional stage field filled (`preprocessing`, `inference`,
 * `resampling.method`/`back`, `input.layout`, `output.activation`) and the
 * legacy flat fields (`tileStep`, `blending`, `spm`) read into them.
 */
export interface ModelCard {
  /** Card identifier (`siam-v0.3`). */
  id: string;
  /** Human-readable name. */
  name: string;
  /** Model version. */
  version: string;
  /** One-line description. */
  description: string;
  /** Where the model is described. */
  homepage?: string;
  /**
   * Input tensor name, channel count, channel names (in tensor order) and
   * each channel's normalisation (one entry applies to every channel).
   */
  input: {
    name: string;
    channels: number;
    names?: string[];
    normalization: Normalization[];
    /**
     * Spatial axis order of the network's tensor: `zyx` (nnU-Net; NIfTI
     * axes k, j, i) or `xyz` (MONAI and nibabel arrays; NIfTI i, j, k).
     * @default "zyx"
     */
    layout?: "zyx" | "xyz";
  };
  /**
   * Output tensor name and activation (`softmax`, or `none` when the network
   * already outputs probabilities). Labels are the argmax of the raw output
   * (a softmax does not change it), so no activation is computed for labels.
   */
  output: { name: string; activation?: "softmax" | "none" };
  /** Target spacing (z, y, x) in mm. */
  spacing: [number, number, number];
  /** Named alternative spacings (z, y, x) in mm, chosen with `-u NAME` (e.g. `highres`, `lowres`). */
  spacings?: Record<string, [number, number, number]>;
  /** Orientation, crop and normalisation order. @default nnU-Net's: RAS, nonzero crop, normalise before resampling */
  preprocessing?: Preprocessing;
  /** Inference mode. @default sliding window with nnU-Net starts from tileStep and blending */
  inference?: Inference;
  /** Named label groups (e.g. BraTS regions WT, TC, ET), for reference and downstream tools. */
  regions?: Region[];
  /** Default patch (z, y, x). */
  patch: [number, number, number];
  /**
   * Memory model of a CPU run, for the automatic patch choice when no patch
   * is given: about `baseBytes + bytesPerVoxel × patch voxels` at peak.
   * Without it the card's patch is always used.
   */
  memory?: { baseBytes: number; bytesPerVoxel: number };
  /** Each patch axis must be a multiple of these (z, y, x). */
  patchMultiple: [number, number, number];
  /** Patch used by `--lowmem`. */
  lowmemPatch: [number, number, number];
  /**
   * Legacy flat field (SIAM's card): the sliding-window step as a fraction
   * of the patch. Read once into `inference.step`; absent from a parsed card.
   */
  tileStep?: number;
  /**
   * Legacy flat field (SIAM's card): nnU-Net's Gaussian blending. Read once
   * into `inference.blending`; absent from a parsed card.
   */
  blending?: { type: "gaussian"; sigmaScale: number; valueScale: number };
  /**
   * Resampling: `method` `nnunet` (skimage-style spline resize of order
   * `image`; logits back with order `logits`), `monai` (MONAI `Spacing`
   * grid, trilinear; labels back nearest-neighbour as `Invertd`), or `none`
   * (the network runs on the input grid). `back`: whether `logits` or
   * `labels` are resampled back to the input grid.
   */
  resampling: { image: 1 | 3; logits: 1 | 3; method?: "nnunet" | "monai" | "none"; back?: "logits" | "labels" };
  /** Output classes, in label order. */
  classes: ClassInfo[];
  /** Indices of intracranial classes (for total intracranial volume). */
  intracranial: number[];
  /**
   * Class merges by name (`-C NAME`), e.g. SIAM's `spm`: the SPM12 6-class
   * merge. Labels become the argmax of the merged probabilities.
   */
  merges?: Record<string, ClassMerge>;
  /** Legacy field: the `spm` merge. Read once into `merges.spm`; absent from a parsed card. */
  spm?: ClassMerge;
  /** Weight files, download URL prefixes and checksums. */
  weights: {
    /** File names of the folds, in fold order. */
    files: string[];
    /** URL prefixes by provider ("default", "coreml"); the file name is appended. */
    urls: Record<string, string>;
    /** SHA-256 (hex) by file name, where known. */
    sha256: Record<string, string>;
  };
}
