/**
 * The pipeline every card runs, stage by stage over typed arrays:
 *
 * - {@linkcode prepare}: orientation (RAS or the stored axes), crop (the
 *   non-zero box over all channels, or none), per-channel normalisation
 *   before or after resampling, resampling with the card's method (nnU-Net's
 *   spline resize of order `resampling.image`, MONAI's `Spacing` grid, or
 *   none);
 * - {@linkcode predict}: the card's window plan (nnU-Net starts or MONAI scan
 *   intervals, padding, Gaussian; or the whole volume) and the one tile loop
 *   over every fold;
 * - {@linkcode finish}: the way back — logits resampled with order
 *   `resampling.logits` then argmax, or argmax then labels nearest-neighbour
 *   (MONAI's `Invertd`) — with the card's activation, a class merge (SPM),
 *   and the output grid: the input's, or the working grid.
 *
 * Multi-channel images are (C, z, y, x), x fastest. The network is a
 * callback, so every stage is testable without ONNX Runtime.
 *
 * @module
 */
import { type Affine } from "../core/types.ts";
import { multiply } from "../geometry/affine.ts";
import { type Box, boxShape, cropTo, pasteInto } from "../geometry/crop.ts";
import { InputError } from "../core/errors.ts";
import { bytesText, ceilingText, maxInputBytes } from "../core/limits.ts";
import { type ClassMerge, type ModelCard } from "../cards/card.ts";
import { channelNormalization } from "../cards/parse.ts";
import { makeVolume } from "../io/volume.ts";
import type { Shape3, Volume } from "../core/types.ts";
import { normalizeInPlace } from "../numerics/normalize.ts";
import { fromCanonical, type Orientation, toCanonical } from "../geometry/orient.ts";
import { logitsToLabelsParallel } from "../numerics/argmax.ts";
import {
  argmaxProbabilities,
  mergeClasses,
  pasteChannels,
  resizeChannels,
  softmaxInPlace,
} from "../numerics/probabilities.ts";
import { type Grid, resampleLinear, resampleNearest, spacingGrid } from "../geometry/monai_spacing.ts";
import { newShape, resize } from "../geometry/resample.ts";
import { type Inference, planWindows } from "../inference/window.ts";
import { type Fold, type Logits, runWindows, type WindowRunOptions } from "../inference/sliding_window.ts";

/** What preparation produced, and what is needed to undo it. */
export interface Prepared {
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
  /** Voxel spacing (z, y, x) of that grid, as float32 like nibabel's zooms. */
  spacing: Shape3;
  /** Crop box (z, y, x) in that grid (the whole grid without cropping). */
  box: Box;
  /** Cropped (z, y, x) shape. */
  croppedShape: Shape3;
  /** The working grid the network sees, (z, y, x) shape. */
  resampledShape: Shape3;
  /** Affine of the working grid. */
  resampledAffine: Affine;
  /** Normalised image on the working grid, (C, z, y, x). */
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

/** Bounding box of the voxels non-zero (and finite) in any channel of (C, z, y, x) data; the whole grid if none. */
export function unionBox(data: ArrayLike<number>, shape: Shape3, channels: number): Box {
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
 * The affine of an nnU-Net resized grid: output voxel `o` sits at input
 * coordinate `box0 + (o + 0.5) * n_in / n_out - 0.5` (grid mode).
 */
function resizedAffine(canonical: Affine, box: Box, cropped: Shape3, resampled: Shape3): Affine {
  const m: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  for (let ax = 0; ax < 3; ax++) {
    const k = 2 - ax; // (z, y, x) index of axis ax (x, y, z)
    const z = cropped[k] / resampled[k];
    m[ax][ax] = z;
    m[ax][3] = box[k][0] + 0.5 * z - 0.5;
  }
  return multiply(canonical, m);
}

/** The machine's physical memory in bytes, or Infinity when it cannot be read. */
function physicalMemory(): number {
  try {
    return Deno.systemMemoryInfo().total || Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * Refuses a working grid (after the resampling plan) before anything is
 * allocated when its size is not a finite voxel count (1e30 mm voxels),
 * when its float32 image alone would take more than
 * {@linkcode maxInputBytes}, or when the image and the class maps summed
 * over it (`classes` float32 planes) would take more than the machine's
 * memory: a tiny header declaring 25 mm voxels must not make a 1333³ grid.
 */
export function checkWorkingGrid(
  label: string,
  grid: Shape3,
  spacing: Shape3,
  target: Shape3,
  channels = 1,
  classes = 0,
): void {
  const mm = (s: Shape3) => s.map((v) => Number(v.toPrecision(4))).join("x");
  const what = `resampling ${mm(spacing)} mm voxels to ${mm(target)} mm`;
  if (!grid.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new InputError(label, `${what} gives no usable grid (${grid.join("x")} voxels); check the voxel sizes`);
  }
  const voxels = grid[0] * grid[1] * grid[2];
  const image = voxels * 4 * channels, need = voxels * 4 * (channels + classes);
  const text = `${what} gives a ${grid.join("x")} grid needing ${bytesText(need)}`;
  if (image > maxInputBytes()) throw new InputError(label, `${text}; ${ceilingText()}`);
  const mem = physicalMemory();
  if (need > mem) throw new InputError(label, `${text}, more than this machine's ${bytesText(mem)} of memory`);
}

/**
 * Orientation, crop, per-channel normalisation and resampling as the card
 * says. `volume` is 3-D, or 4-D with one volume per channel in the card's
 * order; `target` is the working spacing (z, y, x) in mm.
 */
export function prepare(volume: Volume, card: ModelCard, target: Shape3, label = "input"): Prepared {
  const channels = volume.dims.length > 3 ? volume.dims[3] : 1;
  if (channels !== card.input.channels) {
    throw new InputError(label, `${channels} channel(s), the ${card.name} card needs ${card.input.channels}`);
  }
  const pre = card.preprocessing ?? { orientation: "RAS", crop: "nonzero", normalize: "before-resampling" };
  const method = card.resampling.method ?? "nnunet";
  const dims = channels > 1 ? volume.dims.slice(0, 4) : volume.dims.slice(0, 3);
  const can = pre.orientation === "RAS"
    ? toCanonical({ data: volume.data, dims, affine: volume.affine })
    : { data: volume.data, dims, affine: volume.affine, ornt: [[0, 1], [1, 1], [2, 1]] as Orientation };
  const shape = zyx(can.dims);
  // Spacing from the affine's column norms, rounded to float32 as nibabel
  // stores zooms (never the diagonal: wrong for oblique scans).
  const norm = (j: number) =>
    Math.fround(Math.sqrt(can.affine[0][j] ** 2 + can.affine[1][j] ** 2 + can.affine[2][j] ** 2));
  const spacing: Shape3 = [norm(2), norm(1), norm(0)];
  const box: Box = pre.crop === "nonzero"
    ? unionBox(can.data, shape, channels)
    : [[0, shape[0]], [0, shape[1]], [0, shape[2]]];
  const croppedShape = boxShape(box);
  let resampledShape = croppedShape;
  let resampledAffine = translate(can.affine, box);
  const croppedGrid: Grid = { dims: ijk(croppedShape), affine: resampledAffine };
  if (method === "monai") {
    const work = spacingGrid(croppedGrid, [target[2], target[1], target[0]]);
    resampledShape = zyx(work.dims);
    resampledAffine = work.affine;
  } else if (method === "nnunet") {
    resampledShape = newShape(croppedShape, spacing, target);
    resampledAffine = resizedAffine(can.affine, box, croppedShape, resampledShape);
  }
  checkWorkingGrid(label, resampledShape, spacing, target, channels, card.classes.length);
  const work: Grid = { dims: ijk(resampledShape), affine: resampledAffine };
  const n = shape[0] * shape[1] * shape[2];
  const rn = resampledShape[0] * resampledShape[1] * resampledShape[2];
  const same = resampledShape.every((s, k) => s === croppedShape[k]);
  let image: Float32Array | undefined;
  let nonFinite = 0;
  for (let c = 0; c < channels; c++) {
    const steps = channelNormalization(card, c);
    let x = cropTo(can.data.subarray(c * n, (c + 1) * n), shape, box);
    if (pre.normalize === "before-resampling") nonFinite += normalizeInPlace(x, steps).nonFinite;
    if (method === "monai") x = resampleLinear(x, croppedGrid, work);
    else if (method === "nnunet" && !same) x = resize(x, croppedShape, resampledShape, card.resampling.image);
    if (pre.normalize === "after-resampling") nonFinite += normalizeInPlace(x, steps).nonFinite;
    if (channels === 1) image = x;
    else (image ??= new Float32Array(channels * rn)).set(x, c * rn);
  }
  const dims3 = volume.dims.slice(0, 3);
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
    resampledAffine,
    image: image!,
    nonFinite,
  };
}

/** What {@linkcode predict} takes besides the tile loop's options. */
export interface PredictOptions {
  /** The window plan's inference (the plan's, with `--step`). @default the card's */
  inference?: Inference;
}

/**
 * Runs every fold over the prepared image with the card's window plan
 * (tiles, or one whole-volume call) and averages the folds' outputs:
 * (C, z, y, x) over the working grid.
 */
export function predict(
  prep: Prepared,
  folds: Iterable<Fold> | AsyncIterable<Fold>,
  card: ModelCard,
  patch: Shape3,
  options: Omit<WindowRunOptions, "layout"> & PredictOptions = {},
): Promise<Logits> {
  const { inference, ...rest } = options;
  const plan = planWindows(prep.resampledShape, inference ?? card.inference!, patch);
  return runWindows(prep.image, prep.channels, prep.resampledShape, plan, folds, {
    ...rest,
    layout: card.input.layout,
  });
}

/** What {@linkcode finish} should produce besides labels. */
export interface FinishRequest {
  /** Also return probability maps (the card's activation of the fold-averaged output). */
  probabilities?: boolean;
  /** Softmax temperature. @default 1 */
  temperature?: number;
  /** Merge classes (e.g. SPM12's 6): labels become the argmax of merged probabilities. */
  merge?: ClassMerge;
  /** `working`: keep the working grid (`--upsample`) instead of going back to the input grid. @default "input" */
  grid?: "input" | "working";
  /** Worker threads for the argmax. @default 1 */
  threads?: number;
}

/** Labels (and probabilities) on the output grid. */
export interface Finished {
  /** Labels (uint8). */
  labels: Volume;
  /** Probabilities (X, Y, Z, classes) float32, when asked for. */
  probabilities?: Volume;
}

/**
 * The network output back to labels (and probabilities) on the input grid,
 * or on the working grid with `grid: "working"`. Outside a crop box the
 * background (the merged class of class 0) has probability 1. May
 * overwrite `logits`.
 */
export async function finish(
  prep: Prepared,
  logits: Float32Array,
  classes: number,
  card: ModelCard,
  request: FinishRequest = {},
): Promise<Finished> {
  const method = card.resampling.method ?? "nnunet";
  const back = card.resampling.back ?? (method === "monai" ? "labels" : "logits");
  const working = request.grid === "working";
  const threads = request.threads ?? 1;
  const merge = request.merge;
  const activate = (p: Float32Array) =>
    card.output.activation === "none" ? p : softmaxInPlace(p, classes, request.temperature ?? 1);
  const [rz, ry, rx] = prep.resampledShape;
  const onWorking = (labels: Uint8Array, p?: Float32Array, k = classes): Finished => ({
    labels: makeVolume(labels, [rx, ry, rz], prep.resampledAffine, prep.source.header),
    probabilities: p ? makeVolume(p, [rx, ry, rz, k], prep.resampledAffine, prep.source.header) : undefined,
  });
  const wantP = request.probabilities || merge !== undefined;
  const nearestBack = back === "labels" && method !== "none" && !working;
  if (!wantP) {
    const to = working || nearestBack ? prep.resampledShape : prep.croppedShape;
    const labels = await logitsToLabelsParallel(logits, classes, prep.resampledShape, to, threads);
    if (working) return onWorking(labels);
    return { labels: toInput(prep, nearestBack ? backNearest(prep, labels, 1) : labels, 1, 0) as Volume };
  }
  // Through probabilities: activation on the working grid for labels-back
  // cards (then nearest back), else after resizing the logits.
  const to = working || nearestBack ? prep.resampledShape : prep.croppedShape;
  let p = nearestBack || working ? logits : resizeChannels(logits, classes, prep.resampledShape, to);
  let k = classes;
  let labels = merge ? undefined : argmaxProbabilities(p, classes);
  activate(p);
  let background = 0;
  if (merge) {
    p = mergeClasses(p, classes, merge.map, merge.classes.length);
    k = merge.classes.length;
    background = merge.map[0];
    labels = argmaxProbabilities(p, k);
  }
  if (working) return onWorking(labels!, request.probabilities ? p : undefined, k);
  if (nearestBack) {
    labels = backNearest(prep, labels!, 1) as Uint8Array;
    if (request.probabilities) p = backNearest(prep, p, k) as Float32Array;
  }
  return {
    labels: toInput(prep, labels!, 1, background) as Volume,
    probabilities: request.probabilities ? toInput(prep, p, k, background) as Volume : undefined,
  };
}

/** Channels on the working grid to the cropped grid, nearest-neighbour (MONAI's `Invertd`). */
function backNearest<T extends Uint8Array | Float32Array>(prep: Prepared, data: T, channels: number): T {
  const work: Grid = { dims: ijk(prep.resampledShape), affine: prep.resampledAffine };
  const cropped: Grid = { dims: ijk(prep.croppedShape), affine: translate(prep.canonicalAffine, prep.box) };
  if (channels === 1) return resampleNearest(data, work, cropped);
  const wn = prep.resampledShape[0] * prep.resampledShape[1] * prep.resampledShape[2];
  const cn = prep.croppedShape[0] * prep.croppedShape[1] * prep.croppedShape[2];
  const out = new Float32Array(channels * cn);
  for (let c = 0; c < channels; c++) {
    out.set(resampleNearest((data as Float32Array).subarray(c * wn, (c + 1) * wn), work, cropped), c * cn);
  }
  return out as T;
}

/**
 * Cropped-grid labels (1 channel, uint8) or probabilities (float32, `channels`)
 * pasted into the full grid, the reorientation undone, as a volume on the
 * input's grid. Outside the box: `background` (labels), or probability 1 for
 * class `background`.
 */
function toInput(prep: Prepared, data: Uint8Array | Float32Array, channels: number, background: number): Volume {
  const dims = prep.source.dims.slice(0, 3);
  const [nz, ny, nx] = prep.canonicalShape;
  if (data instanceof Uint8Array) {
    const full = pasteInto(data, prep.canonicalShape, prep.box, new Uint8Array(nz * ny * nx));
    if (background !== 0) {
      // Outside the crop box the label is the background's (merged) class.
      const inside = pasteInto(
        new Uint8Array(data.length).fill(1),
        prep.canonicalShape,
        prep.box,
        new Uint8Array(full.length),
      );
      for (let i = 0; i < full.length; i++) if (!inside[i]) full[i] = background;
    }
    return makeVolume(fromCanonical(full, prep.ornt, dims), dims, prep.source.affine, prep.source.header);
  }
  const pf = pasteChannels(data, channels, prep.canonicalShape, prep.box, background);
  return makeVolume(
    fromCanonical(pf, prep.ornt, dims, channels),
    [...dims, channels],
    prep.source.affine,
    prep.source.header,
  );
}
