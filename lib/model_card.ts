/**
 * Model cards: everything model-specific (classes, colours, spacing, patch,
 * normalisation, weights) as data in `models/*.json`, validated here.
 *
 * @module
 */
import siam03 from "../models/siam-v0.3.json" with { type: "json" };
import { InputError } from "./errors.ts";

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
   * ({@linkcode BIDS_STANDARD_LABELS}: BG, GM, WM, CSF, B, ST, NB, L, CGM, SGM, BS, CBM).
   */
  bids: string;
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

/** A model card (see `models/siam-v0.3.json`). */
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
  /** Input tensor name, channel count and intensity normalisation. */
  input: { name: string; channels: number; normalization: { type: string }[] };
  /** Output tensor name. */
  output: { name: string };
  /** Target spacing (z, y, x) in mm. */
  spacing: [number, number, number];
  /** Default patch (z, y, x). */
  patch: [number, number, number];
  /** Each patch axis must be a multiple of these (z, y, x). */
  patchMultiple: [number, number, number];
  /** Patch used by `--lowmem`. */
  lowmemPatch: [number, number, number];
  /** Sliding-window step as a fraction of the patch. */
  tileStep: number;
  /** Tile blending: Gaussian with sigma = patch × sigmaScale, maximum valueScale. */
  blending: { type: "gaussian"; sigmaScale: number; valueScale: number };
  /** Spline orders for the image and for the logits. */
  resampling: { image: 1 | 3; logits: 1 | 3 };
  /** Output classes, in label order. */
  classes: ClassInfo[];
  /** Indices of intracranial classes (for total intracranial volume). */
  intracranial: number[];
  /** SPM12 6-class merge: classes and the map from each model class. */
  spm?: { classes: ClassInfo[]; map: number[]; intracranial: number[] };
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

/** Checks a parsed card's shape and consistency; returns it typed. */
export function validateCard(raw: unknown, where: string): ModelCard {
  const c = raw as ModelCard;
  need(c && typeof c === "object", where, "not an object");
  for (const k of ["id", "name", "version"] as const) need(typeof c[k] === "string", where, `"${k}" must be a string`);
  need(c.input && typeof c.input.name === "string" && c.input.channels >= 1, where, "input.name / input.channels");
  need(c.output && typeof c.output.name === "string", where, "output.name");
  for (const k of ["spacing", "patch", "patchMultiple", "lowmemPatch"] as const) {
    need(triple(c[k]), where, `"${k}" must be 3 positive numbers`);
  }
  need(c.tileStep > 0 && c.tileStep <= 1, where, "tileStep must be in (0, 1]");
  need(Array.isArray(c.classes) && c.classes.length >= 2, where, "classes");
  c.classes.forEach((k, i) =>
    need(k.index === i && typeof k.name === "string" && k.color?.length === 4, where, `class ${i}`)
  );
  for (const k of [...c.classes, ...(c.spm?.classes ?? [])]) {
    need(isBidsLabel(k.bids), where, `class "${k.name}": bids "${k.bids}" is not a standard BIDS label`);
  }
  if (c.spm) {
    need(
      c.spm.map.length === c.classes.length && c.spm.map.every((m) => m >= 0 && m < c.spm!.classes.length),
      where,
      "spm.map",
    );
  }
  need(c.weights && Array.isArray(c.weights.files) && typeof c.weights.urls?.default === "string", where, "weights");
  for (const n of c.input.normalization) {
    need(n.type === "zscore", where, `normalization "${n.type}" is not implemented`);
  }
  return c;
}

/**
 * Loads and validates a card from a JSON file (a one-line error names the
 * file and the problem).
 *
 * @example
 * ```ts
 * import { loadCard } from "./model_card.ts";
 *
 * const card = await loadCard(new URL("../models/siam-v0.3.json", import.meta.url).pathname);
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
 * Estimated peak memory (bytes) of a CPU run with this patch, from
 * `deno task bench` on the siam-v0.3 preset without the arena: 10.4 GiB at
 * 256x256x192, 3.8 GiB at 128^3 (ch2, one fold) — about 2 GiB plus 0.7 kB
 * per patch voxel.
 */
export function estimatePeakBytes(patch: number[]): number {
  return 2 * 2 ** 30 + 700 * patch[0] * patch[1] * patch[2];
}

/**
 * The patch to use when none was asked for: the card's default if its
 * estimated peak fits in `availableBytes` (with 10% to spare), else the
 * low-memory patch, else the smallest valid patch that fits (at least the
 * patch multiple). Returns the patch and whether it was reduced.
 */
export function choosePatch(
  card: ModelCard,
  availableBytes: number,
): { patch: [number, number, number]; reduced: boolean } {
  const fits = (p: number[]) => estimatePeakBytes(p) <= availableBytes * 0.9;
  if (fits(card.patch)) return { patch: [...card.patch], reduced: false };
  if (fits(card.lowmemPatch)) return { patch: [...card.lowmemPatch], reduced: true };
  let p = [...card.lowmemPatch] as [number, number, number];
  while (!fits(p)) {
    const next = p.map((v, k) =>
      Math.max(card.patchMultiple[k], Math.floor(v / 2 / card.patchMultiple[k]) * card.patchMultiple[k])
    ) as [
      number,
      number,
      number,
    ];
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
 * import { SIAM_V03 } from "./model_card.ts";
 *
 * console.log(SIAM_V03.classes.length, SIAM_V03.classes[1].name, SIAM_V03.patch); // 18 "gray matter" [256, 256, 192]
 * ```
 */
export const SIAM_V03: ModelCard = validateCard(siam03 as unknown, "models/siam-v0.3.json");
