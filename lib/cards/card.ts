/**
 * Model cards: everything model-specific (classes, colours, spacing, patch,
 * normalisation, weights) as data in `models/*.json`, validated here.
 *
 * @module
 */
import siam03 from "../../models/siam-v0.3.json" with { type: "json" };
import monaiCt from "../../models/monai-wholebody-ct.json" with { type: "json" };
import hnosegXs from "../../models/hnoseg-xs-brats.json" with { type: "json" };
import { InputError, UsageError } from "../core/errors.ts";
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

const isBidsLabel = (s: unknown) => typeof s === "string" && Object.hasOwn(BIDS_STANDARD_LABELS, s);

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

function need(ok: unknown, where: string, what: string): asserts ok {
  if (!ok) throw new InputError(where, `invalid model card: ${what}`);
}

const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && x > 0);
const pair = (v: unknown) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isFinite(x)) && v[0] < v[1];
const oneOf = (v: unknown, choices: readonly string[]) => typeof v === "string" && choices.includes(v);

const NORMALIZATIONS = ["zscore", "zscore-nonzero", "rescale", "window"] as const;

function checkStep(step: NormalizationStep, where: string, field: string): void {
  need(
    step && oneOf(step.type, NORMALIZATIONS),
    where,
    `${field}.type "${step?.type}" is not one of ${NORMALIZATIONS.join(", ")}`,
  );
  if (step.type === "rescale") need(pair(step.range), where, `${field}.range must be [low, high] with low < high`);
  if (step.type === "window") {
    need(pair(step.window), where, `${field}.window must be [low, high] with low < high`);
    need(pair(step.range), where, `${field}.range must be [low, high] with low < high`);
  }
}

function checkInference(inf: Inference, where: string): void {
  need(
    inf && oneOf(inf.mode, ["sliding-window", "whole"]),
    where,
    `inference.mode must be "sliding-window" or "whole"`,
  );
  need(oneOf(inf.padding, ["constant", "replicate"]), where, `inference.padding must be "constant" or "replicate"`);
  if (inf.mode === "whole") {
    need(
      triple(inf.multiple) && inf.multiple.every(Number.isInteger),
      where,
      `inference.multiple must be 3 positive integers`,
    );
    return;
  }
  need(oneOf(inf.starts, ["nnunet", "monai"]), where, `inference.starts must be "nnunet" or "monai"`);
  need(
    typeof inf.overlap === "number" && inf.overlap >= 0 && inf.overlap < 1,
    where,
    "inference.overlap must be in [0, 1)",
  );
  if (inf.step !== undefined) {
    need(typeof inf.step === "number" && inf.step > 0 && inf.step <= 1, where, "inference.step must be in (0, 1]");
  }
  const b = inf.blending;
  need(b && oneOf(b.type, ["nnunet", "monai"]), where, `inference.blending.type must be "nnunet" or "monai"`);
  need(b.sigmaScale > 0, where, "inference.blending.sigmaScale must be positive");
  if (b.type === "nnunet") need(b.valueScale! > 0, where, "inference.blending.valueScale must be positive");
  if (b.minimum !== undefined) need(b.minimum > 0, where, "inference.blending.minimum must be positive");
}

function checkMerge(m: ClassMerge, classes: number, where: string, name: string): void {
  need(
    m && Array.isArray(m.classes) && m.classes.length >= 2 && Array.isArray(m.map) && m.map.length === classes &&
      m.map.every((k) => Number.isInteger(k) && k >= 0 && k < m.classes.length),
    where,
    `merges.${name} needs classes and a map of ${classes} entries into them`,
  );
  m.classes.forEach((k, i) =>
    need(
      k.index === i && typeof k.name === "string" && typeof k.abbreviation === "string" && k.color?.length === 4,
      where,
      `merges.${name}.classes[${i}] needs index ${i}, name, abbreviation and a 4-value color`,
    )
  );
  need(
    Array.isArray(m.intracranial) && m.intracranial.every((i) => Number.isInteger(i) && i >= 0 && i < m.classes.length),
    where,
    `merges.${name}.intracranial lists an unknown class`,
  );
}

/**
 * Parses a card: checks its shape and consistency (errors name the
 * offending field) and returns a new, complete card. Pure: `raw` is not
 * changed. The legacy flat fields (`tileStep`, `blending`, `spm`) are read
 * once into `inference` and `merges`; every optional stage field gets its
 * default (nnU-Net's), so code downstream reads one schema. Parsing a
 * parsed card gives an equal card.
 */
export function validateCard(raw: unknown, where: string): ModelCard {
  need(raw && typeof raw === "object" && !Array.isArray(raw), where, "not an object");
  const c = structuredClone(raw) as ModelCard;
  for (const k of ["id", "name", "version"] as const) need(typeof c[k] === "string", where, `"${k}" must be a string`);
  need(c.input && typeof c.input.name === "string", where, "input.name must be a string");
  need(Number.isInteger(c.input.channels) && c.input.channels >= 1, where, "input.channels must be a positive integer");
  if (c.input.names !== undefined) {
    need(
      Array.isArray(c.input.names) && c.input.names.length === c.input.channels &&
        c.input.names.every((n) => typeof n === "string" && n !== ""),
      where,
      `input.names must list ${c.input.channels} channel name(s)`,
    );
  }
  if (c.input.layout !== undefined) {
    need(oneOf(c.input.layout, ["zyx", "xyz"]), where, `input.layout must be "zyx" or "xyz"`);
  }
  c.input.layout ??= "zyx";
  need(Array.isArray(c.input.normalization), where, "input.normalization must be an array");
  need(
    c.input.normalization.length === 1 || c.input.normalization.length === c.input.channels,
    where,
    `input.normalization must have 1 or ${c.input.channels} entries`,
  );
  c.input.normalization.forEach((n, k) => {
    const steps = Array.isArray(n) ? n : [n];
    steps.forEach((st, j) =>
      checkStep(st, where, Array.isArray(n) ? `input.normalization[${k}][${j}]` : `input.normalization[${k}]`)
    );
  });
  need(c.output && typeof c.output.name === "string", where, "output.name must be a string");
  if (c.output.activation !== undefined) {
    need(oneOf(c.output.activation, ["softmax", "none"]), where, `output.activation must be "softmax" or "none"`);
  }
  c.output.activation ??= "softmax";
  need(triple(c.spacing), where, `"spacing" must be 3 positive numbers`);
  if (c.spacings !== undefined) {
    need(c.spacings && typeof c.spacings === "object", where, "spacings must be an object");
    for (const [k, v] of Object.entries(c.spacings)) need(triple(v), where, `spacings.${k} must be 3 positive numbers`);
  }
  if (c.preprocessing !== undefined) {
    const p = c.preprocessing;
    need(p && oneOf(p.orientation, ["RAS", "none"]), where, `preprocessing.orientation must be "RAS" or "none"`);
    need(oneOf(p.crop, ["nonzero", "none"]), where, `preprocessing.crop must be "nonzero" or "none"`);
    need(
      oneOf(p.normalize, ["before-resampling", "after-resampling"]),
      where,
      `preprocessing.normalize must be "before-resampling" or "after-resampling"`,
    );
  }
  c.preprocessing ??= { orientation: "RAS", crop: "nonzero", normalize: "before-resampling" };
  need(c.resampling && typeof c.resampling === "object", where, "resampling must be an object");
  need([1, 3].includes(c.resampling.image), where, "resampling.image must be 1 or 3");
  need([1, 3].includes(c.resampling.logits), where, "resampling.logits must be 1 or 3");
  if (c.resampling.method !== undefined) {
    need(
      oneOf(c.resampling.method, ["nnunet", "monai", "none"]),
      where,
      `resampling.method must be "nnunet", "monai" or "none"`,
    );
  }
  if (c.resampling.back !== undefined) {
    need(oneOf(c.resampling.back, ["logits", "labels"]), where, `resampling.back must be "logits" or "labels"`);
  }
  c.resampling.method ??= "nnunet";
  c.resampling.back ??= c.resampling.method === "monai" ? "labels" : "logits";
  // The legacy flat fields, read once into `inference`.
  if (c.inference === undefined) {
    need(
      typeof c.tileStep === "number" && c.tileStep > 0 && c.tileStep <= 1,
      where,
      "tileStep must be in (0, 1] (or give inference)",
    );
    need(c.blending && c.blending.type === "gaussian", where, `blending.type must be "gaussian"`);
    need(
      c.blending.sigmaScale > 0 && c.blending.valueScale > 0,
      where,
      "blending needs positive sigmaScale and valueScale",
    );
    c.inference = {
      mode: "sliding-window",
      starts: "nnunet",
      overlap: 1 - c.tileStep,
      step: c.tileStep,
      padding: "constant",
      blending: { type: "nnunet", sigmaScale: c.blending.sigmaScale, valueScale: c.blending.valueScale },
    };
  } else {
    checkInference(c.inference, where);
    const inf = c.inference;
    if (inf.mode === "sliding-window" && inf.starts === "nnunet") inf.step ??= c.tileStep ?? 1 - inf.overlap;
  }
  delete c.tileStep;
  delete c.blending;
  if (c.inference.mode === "whole") {
    // Patch fields do not apply; fill them so patch-aware code sees one consistent value.
    c.patch ??= [...c.inference.multiple];
    c.patchMultiple ??= [...c.inference.multiple];
    c.lowmemPatch ??= [...c.inference.multiple];
  }
  for (const k of ["patch", "patchMultiple", "lowmemPatch"] as const) {
    need(triple(c[k]), where, `"${k}" must be 3 positive numbers`);
  }
  if (c.memory !== undefined) {
    need(
      c.memory && c.memory.baseBytes >= 0 && c.memory.bytesPerVoxel > 0,
      where,
      "memory needs baseBytes >= 0 and bytesPerVoxel > 0",
    );
  }
  need(Array.isArray(c.classes) && c.classes.length >= 2, where, "classes must list at least 2 classes");
  c.classes.forEach((k, i) =>
    need(
      k.index === i && typeof k.name === "string" && typeof k.abbreviation === "string" && k.color?.length === 4,
      where,
      `classes[${i}] needs index ${i}, name, abbreviation and a 4-value color`,
    )
  );
  need(Array.isArray(c.intracranial), where, "intracranial must be an array (may be empty)");
  need(
    c.intracranial.every((i) => Number.isInteger(i) && i >= 0 && i < c.classes.length),
    where,
    "intracranial lists an unknown class",
  );
  if (c.regions !== undefined) {
    need(Array.isArray(c.regions), where, "regions must be an array");
    c.regions.forEach((r, i) =>
      need(
        r && typeof r.abbreviation === "string" && typeof r.name === "string" && Array.isArray(r.labels) &&
          r.labels.every((l) => Number.isInteger(l) && l > 0 && l < c.classes.length),
        where,
        `regions[${i}] needs abbreviation, name and labels among the classes`,
      )
    );
  }
  // The legacy `spm` field, read once into `merges`.
  if (c.spm !== undefined) {
    need(c.merges?.spm === undefined, where, "spm and merges.spm both given");
    c.merges = { ...c.merges, spm: c.spm };
    delete c.spm;
  }
  if (c.merges !== undefined) {
    need(c.merges && typeof c.merges === "object" && !Array.isArray(c.merges), where, "merges must be an object");
    for (const [name, m] of Object.entries(c.merges)) checkMerge(m, c.classes.length, where, name);
  }
  for (const k of [...c.classes, ...Object.values(c.merges ?? {}).flatMap((m) => m.classes)]) {
    need(
      k.bids === undefined || isBidsLabel(k.bids),
      where,
      `class "${k.name}": bids "${k.bids}" is not a standard BIDS label`,
    );
  }
  need(
    c.weights && Array.isArray(c.weights.files) && typeof c.weights.urls?.default === "string",
    where,
    "weights needs files and urls.default",
  );
  c.weights.sha256 ??= {};
  return c;
}

/** The card's preprocessing (filled by parsing; nnU-Net's for a card that was not parsed). */
export function preprocessingOf(card: ModelCard): Preprocessing {
  return card.preprocessing ?? { orientation: "RAS", crop: "nonzero", normalize: "before-resampling" };
}

/** The card's inference (filled by parsing). */
export function inferenceOf(card: ModelCard): Inference {
  if (card.inference) return card.inference;
  return validateCard(card, card.id ?? "card").inference!;
}

/** The normalisation steps of channel `k`. */
export function channelNormalization(card: ModelCard, k: number): NormalizationStep[] {
  const n = card.input.normalization.length === 1 ? card.input.normalization[0] : card.input.normalization[k];
  return Array.isArray(n) ? n : [n];
}

/**
 * The target spacing (z, y, x): a number (isotropic mm), a name from the
 * card's `spacings`, or the card's default. Unknown names are a usage error
 * listing the card's names.
 */
export function spacingOf(card: ModelCard, choice?: number | string): [number, number, number] {
  if (typeof choice === "number") return [choice, choice, choice];
  if (choice === undefined) return [...card.spacing];
  const s = card.spacings?.[choice];
  if (!s) {
    const names = Object.keys(card.spacings ?? {});
    throw new UsageError(
      `-u ${choice}: the ${card.name} card has ${
        names.length ? `named spacings ${names.join(", ")}` : "no named spacings"
      } (or give millimetres)`,
    );
  }
  return [...s];
}

/**
 * Loads and validates a card from a JSON file (a one-line error names the
 * file and the problem).
 *
 * @example
 * ```ts
 * import { loadCard } from "./card.ts";
 *
 * const card = await loadCard(new URL("../../models/siam-v0.3.json", import.meta.url).pathname);
 * console.log(card.id); // "siam-v0.3"
 * ```
 */
export async function loadCard(path: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new InputError(path, `cannot read model card (${(e as Error).message})`, 66);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `model card is not JSON (${(e as Error).message})`);
  }
  return validateCard(raw, path);
}

/**
 * Estimated peak memory (bytes) of a CPU run with this patch, from the
 * card's memory model (`memory`); undefined for a card without one. SIAM's
 * (measured with `deno task bench` on the siam-v0.3 preset without the
 * arena: 10.4 GiB at 256x256x192, 3.8 GiB at 128^3, ch2, one fold) is about
 * 2 GiB plus 0.7 kB per patch voxel.
 */
export function estimatePeakBytes(card: ModelCard, patch: number[]): number | undefined {
  if (!card.memory) return undefined;
  return card.memory.baseBytes + card.memory.bytesPerVoxel * patch[0] * patch[1] * patch[2];
}

/**
 * The patch to use when none was asked for: the card's default if its
 * estimated peak fits in `availableBytes` (with 10% to spare), else the
 * low-memory patch, else the smallest valid patch that fits (at least the
 * patch multiple). Returns the patch and whether it was reduced. A card
 * without a memory model keeps its patch.
 */
export function choosePatch(
  card: ModelCard,
  availableBytes: number,
): { patch: [number, number, number]; reduced: boolean } {
  const fits = (p: number[]) => (estimatePeakBytes(card, p) ?? 0) <= availableBytes * 0.9;
  if (fits(card.patch)) return { patch: [...card.patch], reduced: false };
  if (fits(card.lowmemPatch)) return { patch: [...card.lowmemPatch], reduced: true };
  let p = [...card.lowmemPatch] as [number, number, number];
  while (!fits(p)) {
    const next = p.map((v, k) =>
      Math.max(card.patchMultiple[k], Math.floor(v / 2 / card.patchMultiple[k]) * card.patchMultiple[k])
    ) as [number, number, number];
    if (next.every((v, k) => v === p[k])) break;
    p = next;
  }
  return { patch: p, reduced: true };
}

/** Checks a patch against the card's divisibility; the message names the nearest valid sizes. */
export function checkPatch(card: ModelCard, patch: number[]): string | undefined {
  const axes = ["Z", "Y", "X"];
  const bad = patch.map((p, k) => p % card.patchMultiple[k] !== 0 ? k : -1).filter((k) => k >= 0);
  if (!bad.length) return undefined;
  const nearest = patch.map((p, k) => {
    const m = card.patchMultiple[k];
    return Math.max(m, Math.round(p / m) * m);
  });
  return `patch ${patch.join("x")} is not valid for ${card.name} ${card.version}: ` +
    bad.map((k) => `${axes[k]} must be a multiple of ${card.patchMultiple[k]}`).join(", ") +
    `; nearest valid: ${nearest.join("x")}`;
}

/**
 * The SIAM v0.3 card shipped with the package.
 *
 * @example
 * ```ts
 * import { SIAM_V03 } from "./card.ts";
 *
 * console.log(SIAM_V03.classes.length, SIAM_V03.classes[1].name, SIAM_V03.patch); // 18 "gray matter" [256, 256, 192]
 * ```
 */
export const SIAM_V03: ModelCard = validateCard(siam03 as unknown, "models/siam-v0.3.json");

/** The cards shipped with the package (`models/NAME.json`), by id, as parsed JSON. */
const SHIPPED: Record<string, unknown> = {
  "siam-v0.3": siam03,
  "monai-wholebody-ct": monaiCt,
  "hnoseg-xs-brats": hnosegXs,
};

/** Ids of the cards shipped with the package, in listing order. */
export const SHIPPED_CARDS: readonly string[] = Object.keys(SHIPPED);

/**
 * A shipped card by id (`siam-v0.3`, `monai-wholebody-ct`,
 * `hnoseg-xs-brats`), validated; undefined for an unknown id.
 *
 * @example
 * ```ts
 * import { shippedCard } from "./card.ts";
 *
 * console.log(shippedCard("monai-wholebody-ct")?.classes.length); // 105
 * ```
 */
export function shippedCard(id: string): ModelCard | undefined {
  if (id === "siam-v0.3") return SIAM_V03;
  const raw = SHIPPED[id];
  return raw === undefined ? undefined : validateCard(raw, `models/${id}.json`);
}

/**
 * `--card NAME|FILE`: a shipped card by name (`monai-wholebody-ct`, also
 * with `.json`), else a card file path. An unknown name that is no file is
 * an error listing the shipped cards.
 */
export async function resolveCard(spec: string): Promise<ModelCard> {
  const id = spec.replace(/\.json$/i, "");
  const shipped = !/[\\/]/.test(spec) ? shippedCard(id) : undefined;
  if (shipped) {
    try {
      await Deno.stat(spec);
    } catch {
      return shipped; // no local file of that name: the shipped card
    }
  }
  if (!/[\\/]/.test(spec) && !/\.json$/i.test(spec)) {
    try {
      await Deno.stat(spec);
    } catch {
      throw new UsageError(`--card ${spec}: no such card (shipped: ${SHIPPED_CARDS.join(", ")}) and no such file`);
    }
  }
  return await loadCard(spec);
}
