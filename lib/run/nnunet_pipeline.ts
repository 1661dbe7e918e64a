/**
 * SIAM / nnU-Net inference, stage by stage, over typed arrays: canonical
 * reorientation, crop, z-score, order-3 resample, sliding window over one or
 * more networks (one accumulator), order-1 resample back, argmax, paste,
 * restore the input's axis order. The network is a callback, so every stage
 * is testable without ONNX Runtime.
 *
 * @module
 */
import { type Affine, multiply } from "../geometry/affine.ts";
import { type Box, boxShape, cropTo, nonzeroBox, pasteInto } from "../geometry/crop.ts";
import { makeVolume, type Volume } from "../io/nifti.ts";
import { zscoreInPlace, type ZScoreStats } from "../numerics/normalize.ts";
import { fromCanonical, type Orientation, toCanonical } from "../geometry/orient.ts";
import { logitsToLabelsParallel } from "../numerics/argmax.ts";
import {
  argmaxProbabilities,
  mergeClasses,
  pasteChannels,
  resizeChannels,
  softmaxInPlace,
} from "../numerics/probabilities.ts";
import { newShape, resize, type Shape3 } from "../geometry/resample.ts";
import {
  gaussianMap,
  LogitAccumulator,
  padding,
  padVolume,
  slidingWindow,
  type TilePredictor,
  type TileProgress,
} from "../inference/tiling.ts";

/** Numerical settings of a run (from the model card and the options). */
export interface PipelineConfig {
  /** Target spacing (z, y, x) in mm. */
  spacing: Shape3;
  /** Patch (z, y, x). */
  patch: Shape3;
  /** Tile step fraction. */
  step: number;
  /** Gaussian sigma as a fraction of the patch, and the map's maximum. */
  sigmaScale: number;
  /** Maximum of the Gaussian map (nnU-Net: 10). */
  valueScale: number;
  /** Keep the target-spacing canonical grid instead of returning to the input grid. */
  upsample: boolean;
}

/** What preprocessing produced, and what postprocessing needs to undo it. */
export interface Prepared {
  /** The input as given. */
  source: Volume;
  /** Orientation of the input's voxel axes (to undo the canonical reorientation). */
  ornt: Orientation;
  /** Canonical (RAS) affine and (z, y, x) shape. */
  canonicalAffine: Affine;
  canonicalShape: Shape3;
  /** Canonical voxel spacing (z, y, x), as float32 like nibabel's zooms. */
  spacing: Shape3;
  /** Crop box in canonical (z, y, x) voxels. */
  box: Box;
  /** Cropped and resampled (z, y, x) shapes. */
  croppedShape: Shape3;
  resampledShape: Shape3;
  /** Normalised, resampled image (z, y, x). */
  image: Float32Array;
  /** Z-score statistics (and the count of non-finite voxels set to 0). */
  stats: ZScoreStats;
}

/** Canonical reorientation, crop, z-score, resample (stages 1-4). */
export function preprocess(volume: Volume, cfg: PipelineConfig): Prepared {
  const can = toCanonical({ data: volume.data, dims: volume.dims.slice(0, 3), affine: volume.affine });
  const [cx, cy, cz] = can.dims;
  const shape: Shape3 = [cz, cy, cx];
  // Spacing from the canonical affine's column norms, rounded to float32 as
  // nibabel stores zooms (never the diagonal: wrong for oblique scans).
  const norm = (j: number) =>
    Math.fround(Math.sqrt(can.affine[0][j] ** 2 + can.affine[1][j] ** 2 + can.affine[2][j] ** 2));
  const spacing: Shape3 = [norm(2), norm(1), norm(0)];
  const box = nonzeroBox(can.data, shape);
  const cropped = cropTo(can.data, shape, box);
  const croppedShape = boxShape(box);
  const stats = zscoreInPlace(cropped);
  const resampledShape = newShape(croppedShape, spacing, cfg.spacing);
  const same = resampledShape.every((s, k) => s === croppedShape[k]);
  const image = same ? cropped : resize(cropped, croppedShape, resampledShape, 3);
  return {
    source: volume,
    ornt: can.ornt,
    canonicalAffine: can.affine,
    canonicalShape: shape,
    spacing,
    box,
    croppedShape,
    resampledShape,
    image,
    stats,
  };
}

/** One network of the ensemble: its class count and its tile function. */
export interface Fold {
  /** Output channels. */
  classes: number;
  /** Runs one tile. */
  predict: TilePredictor;
  /** A name for progress messages. */
  name?: string;
}

/** Progress of {@linkcode predictLogits}. */
export interface FoldProgress extends TileProgress {
  /** Fold index (0-based) and count, when known. */
  fold: number;
  folds?: number;
  name?: string;
}

/** Options for {@linkcode predictLogits}. */
export interface PredictOptions {
  /** Called after every tile of every fold. */
  onTile?: (p: FoldProgress) => void;
  /** Abort between tiles. */
  signal?: AbortSignal;
  /** Number of folds, for progress messages only. */
  folds?: number;
  /** Overlap accumulation with the next tile's network call (see slidingWindow). */
  overlap?: boolean;
}

/** Result of {@linkcode predictLogits}. */
export interface Logits {
  /** (C, z, y, x) over the resampled shape, fold-averaged. */
  logits: Float32Array;
  classes: number;
  /** Tiles per fold. */
  tiles: number;
  /** Seconds spent inside the networks. */
  inferenceSeconds: number;
}

/**
 * Sliding window over each fold in turn (stage 5), all adding into one
 * accumulator (stage 6). Folds may be produced lazily (an async iterable), so
 * only one network needs to be loaded at a time.
 */
export async function predictLogits(
  prep: Prepared,
  folds: Iterable<Fold> | AsyncIterable<Fold>,
  cfg: PipelineConfig,
  options: PredictOptions = {},
): Promise<Logits> {
  const pad = padding(prep.resampledShape, cfg.patch);
  const padded = padVolume(prep.image, prep.resampledShape, pad);
  const gaussian = gaussianMap(cfg.patch, cfg.sigmaScale, cfg.valueScale);
  let acc: LogitAccumulator | undefined;
  let inferenceSeconds = 0;
  let tiles = 0;
  let index = 0;
  for await (const fold of folds) {
    if (!acc) acc = new LogitAccumulator(fold.classes, padded.shape, gaussian);
    else if (fold.classes !== acc.classes) {
      throw new Error(`fold ${fold.name ?? index} has ${fold.classes} classes, the first had ${acc.classes}`);
    }
    const f = index;
    inferenceSeconds += await slidingWindow(padded.data, padded.shape, cfg.patch, fold.predict, acc, {
      step: cfg.step,
      signal: options.signal,
      overlap: options.overlap,
      onTile: (p) => {
        tiles = p.tiles;
        options.onTile?.({ ...p, fold: f, folds: options.folds, name: fold.name });
      },
    });
    index++;
  }
  if (!acc) throw new Error("no model to run");
  const { logits } = acc.finish(pad);
  return { logits, classes: acc.classes, tiles, inferenceSeconds };
}

/** What {@linkcode postprocess} should produce besides labels. */
export interface OutputRequest {
  /** Also return probability maps (softmax of the fold-averaged logits). */
  probabilities?: boolean;
  /** Softmax temperature. @default 1 */
  temperature?: number;
  /** Merge classes (e.g. SPM12's 6): `map[c]` is the merged class of class `c`; labels become argmax of merged probabilities. */
  merge?: { map: number[]; classes: number };
}

/** Result of {@linkcode postprocess}. */
export interface Segmentation {
  /** Labels on the input grid (or the target-spacing canonical grid with `upsample`). */
  labels: Volume;
  /** Probabilities (X, Y, Z, classes), float32, on the same grid — when asked for. */
  probabilities?: Volume;
}

/**
 * The affine of the resampled canonical grid: output voxel `o` sits at
 * canonical coordinate `box0 + (o + 0.5) * n_in / n_out - 0.5` (grid mode).
 */
export function resampledAffine(prep: Prepared): Affine {
  const m: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  for (let ax = 0; ax < 3; ax++) {
    const k = 2 - ax; // (z, y, x) index of canonical axis ax (x, y, z)
    const z = prep.croppedShape[k] / prep.resampledShape[k];
    m[ax][ax] = z;
    m[ax][3] = prep.box[k][0] + 0.5 * z - 0.5;
  }
  return multiply(prep.canonicalAffine, m);
}

/**
 * Stage 7: logits back to the cropped shape (order 1), argmax, paste into the
 * canonical grid, undo the reorientation. With `upsample`, the labels stay on
 * the resampled canonical grid (its affine from {@linkcode resampledAffine}).
 * `threads` > 1 splits the channels over workers when the logits are shared.
 */
export async function postprocess(
  prep: Prepared,
  logits: Float32Array,
  classes: number,
  cfg: PipelineConfig,
  threads = 1,
  request: OutputRequest = {},
): Promise<Segmentation> {
  if (request.probabilities || request.merge) return withProbabilities(prep, logits, classes, cfg, request);
  if (cfg.upsample) {
    const labels = await logitsToLabelsParallel(logits, classes, prep.resampledShape, prep.resampledShape, threads);
    const [rz, ry, rx] = prep.resampledShape;
    return { labels: makeVolume(labels, [rx, ry, rz], resampledAffine(prep), prep.source.header) };
  }
  const cropLabels = await logitsToLabelsParallel(logits, classes, prep.resampledShape, prep.croppedShape, threads);
  const [nz, ny, nx] = prep.canonicalShape;
  const full = pasteInto(cropLabels, prep.canonicalShape, prep.box, new Uint8Array(nz * ny * nx));
  const dims = prep.source.dims.slice(0, 3);
  const data = fromCanonical(full, prep.ornt, dims);
  return { labels: makeVolume(data, dims, prep.source.affine, prep.source.header) };
}

/** Stage 7 through probabilities: resize all channels, softmax, merge, argmax, paste. */
function withProbabilities(
  prep: Prepared,
  logits: Float32Array,
  classes: number,
  cfg: PipelineConfig,
  req: OutputRequest,
): Segmentation {
  const to = cfg.upsample ? prep.resampledShape : prep.croppedShape;
  // Resized logits (in place on the accumulator's memory when no resize is needed).
  let p = resizeChannels(logits, classes, prep.resampledShape, to);
  let k = classes;
  let labels = req.merge ? undefined : argmaxProbabilities(p, classes);
  softmaxInPlace(p, classes, req.temperature ?? 1);
  let background = 0;
  if (req.merge) {
    p = mergeClasses(p, classes, req.merge.map, req.merge.classes);
    k = req.merge.classes;
    background = req.merge.map[0];
    labels = argmaxProbabilities(p, k);
  }
  if (cfg.upsample) {
    const [rz, ry, rx] = prep.resampledShape;
    const affine = resampledAffine(prep);
    return {
      labels: makeVolume(labels!, [rx, ry, rz], affine, prep.source.header),
      probabilities: req.probabilities ? makeVolume(p, [rx, ry, rz, k], affine, prep.source.header) : undefined,
    };
  }
  const [nz, ny, nx] = prep.canonicalShape;
  const full = pasteInto(labels!, prep.canonicalShape, prep.box, new Uint8Array(nz * ny * nx));
  if (background !== 0) {
    // Outside the crop box the merged label is the background's class.
    const inside = pasteInto(
      new Uint8Array(labels!.length).fill(1),
      prep.canonicalShape,
      prep.box,
      new Uint8Array(full.length),
    );
    for (let i = 0; i < full.length; i++) if (!inside[i]) full[i] = background;
  }
  const dims = prep.source.dims.slice(0, 3);
  const out: Segmentation = {
    labels: makeVolume(fromCanonical(full, prep.ornt, dims), dims, prep.source.affine, prep.source.header),
  };
  if (req.probabilities) {
    const pf = pasteChannels(p, k, prep.canonicalShape, prep.box, background);
    out.probabilities = makeVolume(
      fromCanonical(pf, prep.ornt, dims, k),
      [...dims, k],
      prep.source.affine,
      prep.source.header,
    );
  }
  return out;
}
