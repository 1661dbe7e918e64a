/**
 * The card-driven pipeline for networks other than SIAM's nnU-Net path
 * (`lib/pipeline.ts` keeps that one): every step is chosen by the model
 * card — orientation, crop, per-channel normalisation (before or after
 * resampling), resampling (nnU-Net resize, MONAI `Spacing`, or none),
 * sliding-window (nnU-Net or MONAI tiles, constant or replicate padding,
 * nnU-Net or MONAI Gaussian) or whole-volume inference, and the way back
 * (logits order 1, or labels nearest-neighbour like MONAI's `Invertd`).
 *
 * Multi-channel images are (C, z, y, x), x fastest. The network is a
 * callback, so every stage is testable without ONNX Runtime.
 *
 * @module
 */
import { type Affine, multiply } from "../geometry/affine.ts";
import { type Box, boxShape, cropTo, pasteInto } from "../geometry/crop.ts";
import { InputError } from "../core/errors.ts";
import {
  channelNormalization,
  inferenceOf,
  type ModelCard,
  preprocessingOf,
  type SlidingWindowInference,
  type WholeVolumeInference,
} from "../cards/card.ts";
import { makeVolume, type Volume } from "../io/nifti.ts";
import { normalizeInPlace } from "../numerics/normalize.ts";
import { fromCanonical, type Orientation, toCanonical } from "../geometry/orient.ts";
import { logitsToLabelsParallel } from "../numerics/argmax.ts";
import { pasteChannels, resizeChannels, softmaxInPlace } from "../numerics/probabilities.ts";
import {
  type Grid,
  importanceMap,
  resampleLinear,
  resampleNearest,
  scanStarts,
  spacingGrid,
} from "../geometry/monai_spacing.ts";
import { newShape, resize, type Shape3 } from "../geometry/resample.ts";
import { extractTile, gaussianMap, LogitAccumulator, padding, padVolume, tileStarts } from "../inference/tiling.ts";
import type { Fold, FoldProgress, Logits } from "./nnunet_pipeline.ts";

/** What card preprocessing produced, and what is needed to undo it. */
export interface CardPrepared {
  /** A 3-D volume carrying the input's grid and header (outputs are written on it). */
  source: Volume;
  /** Input channels. */
  channels: number;
  /** Orientation of the input's voxel axes (identity without reorientation). */
  ornt: Orientation;
  /** The (reoriented) input grid, (z, y, x) shape. */
  canonicalShape: Shape3;
  /** Its affine. */
  canonicalAffine: Affine;
  /** Voxel spacing (z, y, x) of that grid. */
  spacing: Shape3;
  /** Crop box (z, y, x) in that grid (the whole grid without cropping). */
  box: Box;
  /** Cropped (z, y, x) shape. */
  croppedShape: Shape3;
  /** The grid the network sees, (z, y, x) shape, and its affine. */
  resampledShape: Shape3;
  /** Affine of the network's grid. */
  resampledAffine: Affine;
  /** Normalised image on the network's grid, (C, z, y, x). */
  image: Float32Array;
  /** Non-finite voxels set to 0. */
  nonFinite: number;
}

const ijk = (s: Shape3): [number, number, number] => [s[2], s[1], s[0]];
const zyx = (d: number[]): Shape3 => [d[2], d[1], d[0]];

function translate(a: Affine, box: Box): Affine {
  const t: Affine = [[1, 0, 0, box[2][0]], [0, 1, 0, box[1][0]], [0, 0, 1, box[0][0]], [0, 0, 0, 1]];
  return multiply(a, t);
}

/** Bounding box of the voxels non-zero in any channel ((C, z, y, x) data). */
function unionBox(data: ArrayLike<number>, shape: Shape3, channels: number): Box {
  const n = shape[0] * shape[1] * shape[2];
  const [nz, ny, nx] = shape;
  const lo = [Infinity, Infinity, Infinity], hi = [-1, -1, -1];
  for (let c = 0; c < channels; c++) {
    let i = c * n;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++, i++) {
          const v = data[i];
          if (v !== 0 && Number.isFinite(v)) {
            if (z < lo[0]) lo[0] = z;
            if (z > hi[0]) hi[0] = z;
            if (y < lo[1]) lo[1] = y;
            if (y > hi[1]) hi[1] = y;
            if (x < lo[2]) lo[2] = x;
            if (x > hi[2]) hi[2] = x;
          }
        }
      }
    }
  }
  if (hi[0] < 0) return [[0, nz], [0, ny], [0, nx]];
  return [[lo[0], hi[0] + 1], [lo[1], hi[1] + 1], [lo[2], hi[2] + 1]];
}

/**
 * Orientation, crop, per-channel normalisation and resampling as the card
 * says. `volume` is 3-D, or 4-D with one volume per channel in the card's
 * order; `target` is the spacing (z, y, x) in mm.
 */
export function prepareCard(volume: Volume, card: ModelCard, target: Shape3, label = "input"): CardPrepared {
  const channels = volume.dims.length > 3 ? volume.dims[3] : 1;
  if (channels !== card.input.channels) {
    throw new InputError(label, `${channels} channel(s), the ${card.name} card needs ${card.input.channels}`);
  }
  const pre = preprocessingOf(card);
  const method = card.resampling.method ?? "nnunet";
  const dims3 = volume.dims.slice(0, 3);
  const can = pre.orientation === "RAS"
    ? toCanonical({ data: volume.data, dims: volume.dims, affine: volume.affine })
    : { data: volume.data, dims: volume.dims, affine: volume.affine, ornt: [[0, 1], [1, 1], [2, 1]] as Orientation };
  const shape = zyx(can.dims);
  const norm = (j: number) =>
    Math.fround(Math.sqrt(can.affine[0][j] ** 2 + can.affine[1][j] ** 2 + can.affine[2][j] ** 2));
  const spacing: Shape3 = [norm(2), norm(1), norm(0)];
  const box: Box = pre.crop === "nonzero" ? unionBox(can.data, shape, channels) : [[0, shape[0]], [0, shape[1]], [
    0,
    shape[2],
  ]];
  const croppedShape = boxShape(box);
  const croppedGrid: Grid = { dims: ijk(croppedShape), affine: translate(can.affine, box) };
  let work: Grid = croppedGrid;
  let resampledShape = croppedShape;
  if (method === "monai") {
    work = spacingGrid(croppedGrid, [target[2], target[1], target[0]]);
    resampledShape = zyx(work.dims);
  } else if (method === "nnunet") {
    resampledShape = newShape(croppedShape, spacing, target);
    const m: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
    for (let ax = 0; ax < 3; ax++) {
      const z = croppedShape[2 - ax] / resampledShape[2 - ax];
      m[ax][ax] = z;
      m[ax][3] = 0.5 * z - 0.5;
    }
    work = { dims: ijk(resampledShape), affine: multiply(croppedGrid.affine, m) };
  }
  const n = shape[0] * shape[1] * shape[2];
  const rn = resampledShape[0] * resampledShape[1] * resampledShape[2];
  const image = new Float32Array(channels * rn);
  let nonFinite = 0;
  for (let c = 0; c < channels; c++) {
    const steps = channelNormalization(card, c);
    let x = cropTo(can.data.subarray(c * n, (c + 1) * n), shape, box);
    if (pre.normalize === "before-resampling") nonFinite += normalizeInPlace(x, steps).nonFinite;
    if (method === "monai") x = resampleLinear(x, croppedGrid, work);
    else if (method === "nnunet" && resampledShape.some((s, k) => s !== croppedShape[k])) {
      x = resize(x, croppedShape, resampledShape, card.resampling.image);
    }
    if (pre.normalize === "after-resampling") nonFinite += normalizeInPlace(x, steps).nonFinite;
    image.set(x, c * rn);
  }
  const source = channels > 1
    ? makeVolume(new Uint8Array(dims3[0] * dims3[1] * dims3[2]), dims3, volume.affine, volume.header)
    : volume;
  return {
    source,
    channels,
    ornt: can.ornt,
    canonicalShape: shape,
    canonicalAffine: can.affine,
    spacing,
    box,
    croppedShape,
    resampledShape,
    resampledAffine: work.affine,
    image,
    nonFinite,
  };
}

/** Pads every channel of a (C, z, y, x) image. */
function padChannels(
  image: Float32Array,
  channels: number,
  shape: Shape3,
  pad: [number, number][],
  mode: "constant" | "replicate",
): { data: Float32Array; shape: Shape3 } {
  if (pad.every(([a, b]) => a === 0 && b === 0)) return { data: image, shape };
  const n = shape[0] * shape[1] * shape[2];
  const parts = Array.from({ length: channels }, (_, c) => {
    const ch = image.subarray(c * n, (c + 1) * n);
    return padVolume(ch, shape, pad, mode);
  });
  const ps = parts[0].shape;
  const pn = ps[0] * ps[1] * ps[2];
  const data = new Float32Array(channels * pn);
  parts.forEach((p, c) => data.set(p.data, c * pn));
  return { data, shape: ps };
}

/** The tile starts (z, y, x) of a sliding window over a padded shape. */
export function cardTileStarts(inf: SlidingWindowInference, shape: Shape3, patch: Shape3): number[][] {
  if (inf.starts === "monai") return scanStarts(shape, patch, inf.overlap);
  return tileStarts(shape, patch, 1 - inf.overlap);
}

/** The tile weights of a sliding window. */
export function cardImportanceMap(inf: SlidingWindowInference, patch: Shape3): Float32Array {
  const b = inf.blending;
  if (b.type === "monai") return importanceMap(patch, b.sigmaScale, b.minimum ?? 1e-3);
  return gaussianMap(patch, b.sigmaScale, b.valueScale ?? 10);
}

/** Padding so each axis is a multiple of `m` (diff//2 before). */
export function multiplePadding(shape: Shape3, m: number[]): [number, number][] {
  return shape.map((n, k) => {
    const diff = Math.ceil(n / m[k]) * m[k] - n;
    return [Math.floor(diff / 2), diff - Math.floor(diff / 2)];
  });
}

/**
 * Reverses the spatial axes of a (C, a, b, c) array into (C, c, b, a): the
 * (z, y, x) storage to an (x, y, z) tensor and back.
 */
export function reverseAxes(data: Float32Array, channels: number, shape: Shape3, out?: Float32Array): Float32Array {
  const [a, b, c] = shape;
  const n = a * b * c;
  const res = out ?? new Float32Array(channels * n);
  for (let ch = 0; ch < channels; ch++) {
    const base = ch * n;
    let i = base;
    for (let z = 0; z < a; z++) {
      for (let y = 0; y < b; y++) {
        for (let x = 0; x < c; x++, i++) res[base + (x * b + y) * a + z] = data[i];
      }
    }
  }
  return res;
}

/** Options for {@linkcode predictCard}. */
export interface CardPredictOptions {
  /** Called after each tile of each fold. */
  onTile?: (p: FoldProgress) => void;
  /** Abort between tiles. */
  signal?: AbortSignal;
  /** Number of folds, for progress only. */
  folds?: number;
}

/**
 * Runs every fold over the prepared image — tiles (the card's starts,
 * padding and weights) or one whole-volume call — and averages the folds'
 * outputs: (C, z, y, x) over the network grid.
 */
export async function predictCard(
  prep: CardPrepared,
  folds: Iterable<Fold> | AsyncIterable<Fold>,
  card: ModelCard,
  patch: Shape3,
  options: CardPredictOptions = {},
): Promise<Logits> {
  const inf = inferenceOf(card);
  const whole = inf.mode === "whole";
  const pad = whole
    ? multiplePadding(prep.resampledShape, (inf as WholeVolumeInference).multiple)
    : padding(prep.resampledShape, patch);
  const padded = padChannels(prep.image, prep.channels, prep.resampledShape, pad, inf.padding);
  const tileShape: Shape3 = whole ? padded.shape : patch;
  const weights = whole
    ? new Float32Array(tileShape[0] * tileShape[1] * tileShape[2]).fill(1)
    : cardImportanceMap(inf as SlidingWindowInference, patch);
  const starts = whole ? [[0], [0], [0]] : cardTileStarts(inf as SlidingWindowInference, padded.shape, patch);
  const tiles: number[][] = [];
  for (const z of starts[0]) for (const y of starts[1]) for (const x of starts[2]) tiles.push([z, y, x]);
  const pn = padded.shape[0] * padded.shape[1] * padded.shape[2];
  const tn = tileShape[0] * tileShape[1] * tileShape[2];
  const buf = new Float32Array(prep.channels * tn);
  // Networks whose tensors are (x, y, z) get each tile with its axes reversed.
  const xyz = card.input.layout === "xyz";
  const tbuf = xyz ? new Float32Array(prep.channels * tn) : buf;
  const tensorShape: Shape3 = xyz ? [tileShape[2], tileShape[1], tileShape[0]] : tileShape;
  let acc: LogitAccumulator | undefined;
  let seconds = 0;
  let index = 0;
  for await (const fold of folds) {
    acc ??= new LogitAccumulator(fold.classes, padded.shape, weights);
    if (fold.classes !== acc.classes) {
      throw new Error(`fold ${fold.name ?? index} has ${fold.classes} classes, the first had ${acc.classes}`);
    }
    for (let t = 0; t < tiles.length; t++) {
      options.signal?.throwIfAborted();
      for (let c = 0; c < prep.channels; c++) {
        extractTile(
          padded.data.subarray(c * pn, (c + 1) * pn),
          padded.shape,
          tiles[t],
          tileShape,
          buf.subarray(c * tn),
        );
      }
      const t0 = performance.now();
      if (xyz) reverseAxes(buf, prep.channels, tileShape, tbuf);
      const out = await fold.predict(tbuf, tensorShape);
      const s = (performance.now() - t0) / 1000;
      seconds += s;
      if (xyz) acc.addTileXyz(out, tiles[t], tileShape);
      else acc.addTile(out, tiles[t], tileShape);
      options.onTile?.({
        tile: t + 1,
        tiles: tiles.length,
        seconds: s,
        fold: index,
        folds: options.folds,
        name: fold.name,
      });
    }
    acc.endFold();
    index++;
  }
  if (!acc) throw new Error("no model to run");
  const { logits } = acc.finish(pad);
  return { logits, classes: acc.classes, tiles: tiles.length, inferenceSeconds: seconds };
}

/**
 * Labels on the input grid: the network output back to the cropped grid
 * (logits resampled with order `resampling.logits` then argmax, or argmax
 * then labels nearest-neighbour), pasted into the full grid, the
 * reorientation undone.
 */
export async function finishCard(
  prep: CardPrepared,
  logits: Float32Array,
  classes: number,
  card: ModelCard,
  threads = 1,
): Promise<Volume> {
  const method = card.resampling.method ?? "nnunet";
  const back = card.resampling.back ?? (method === "monai" ? "labels" : "logits");
  let crop: Uint8Array;
  if (back === "logits" || method === "none") {
    crop = await logitsToLabelsParallel(logits, classes, prep.resampledShape, prep.croppedShape, threads);
  } else {
    const labels = await logitsToLabelsParallel(logits, classes, prep.resampledShape, prep.resampledShape, threads);
    const work: Grid = { dims: ijk(prep.resampledShape), affine: prep.resampledAffine };
    const cropped: Grid = { dims: ijk(prep.croppedShape), affine: translate(prep.canonicalAffine, prep.box) };
    crop = resampleNearest(labels, work, cropped);
  }
  const [nz, ny, nx] = prep.canonicalShape;
  const full = pasteInto(crop, prep.canonicalShape, prep.box, new Uint8Array(nz * ny * nx));
  const dims = prep.source.dims.slice(0, 3);
  return makeVolume(fromCanonical(full, prep.ornt, dims), dims, prep.source.affine, prep.source.header);
}

/**
 * Probability maps (X, Y, Z, classes) on the input grid, with the card's
 * activation (softmax at temperature `t`, or none): for logits-back cards
 * the logits are resized with order 1 first, for labels-back cards (MONAI)
 * the probabilities are taken on the network grid and brought back
 * nearest-neighbour, channel by channel. Outside a crop box the background
 * has probability 1. Overwrites `logits`.
 */
export function cardProbabilities(
  prep: CardPrepared,
  logits: Float32Array,
  classes: number,
  card: ModelCard,
  t = 1,
): Volume {
  const method = card.resampling.method ?? "nnunet";
  const back = card.resampling.back ?? (method === "monai" ? "labels" : "logits");
  const activate = (p: Float32Array) => card.output.activation === "none" ? p : softmaxInPlace(p, classes, t);
  let p: Float32Array;
  if (back === "logits" || method === "none") {
    p = activate(resizeChannels(logits, classes, prep.resampledShape, prep.croppedShape));
  } else {
    activate(logits);
    const work: Grid = { dims: ijk(prep.resampledShape), affine: prep.resampledAffine };
    const cropped: Grid = { dims: ijk(prep.croppedShape), affine: translate(prep.canonicalAffine, prep.box) };
    const wn = prep.resampledShape[0] * prep.resampledShape[1] * prep.resampledShape[2];
    const cn = prep.croppedShape[0] * prep.croppedShape[1] * prep.croppedShape[2];
    p = new Float32Array(classes * cn);
    for (let c = 0; c < classes; c++) {
      p.set(resampleNearest(logits.subarray(c * wn, (c + 1) * wn), work, cropped), c * cn);
    }
  }
  const full = pasteChannels(p, classes, prep.canonicalShape, prep.box, 0);
  const dims = prep.source.dims.slice(0, 3);
  return makeVolume(
    fromCanonical(full, prep.ornt, dims, classes),
    [...dims, classes],
    prep.source.affine,
    prep.source.header,
  );
}
