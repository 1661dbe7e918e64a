/**
 * Options + card → one validated plan, made before any file is read or any
 * model is opened: every conflict between what was asked and what the card
 * allows (spacing name, merges, output grid, patch rules, temperature,
 * threads) is a usage error (exit 64) naming the value and what is allowed.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { parsePatch, type Shape3 } from "../core/types.ts";
import { type ClassInfo, type ClassMerge, type ModelCard } from "../cards/card.ts";
import { validateCard } from "../cards/parse.ts";
import { checkPatch, spacingOf } from "../cards/rules.ts";
import { SIAM_V03 } from "../cards/shipped.ts";
import type { Inference } from "../inference/window.ts";

/** The options a plan is made from (the numerical part of `SegmentOptions`). */
export interface PlanOptions {
  /** The model card. @default SIAM v0.3 */
  card?: ModelCard;
  /** Patch (z, y, x) or `"ZxYxX"`. @default the card's (256x256x192 for SIAM) */
  patch?: [number, number, number] | string;
  /** Working spacing in mm (isotropic), or a name from the card's `spacings` (`highres`, `lowres`). @default the card's */
  spacing?: number | string;
  /** Keep the working grid (target spacing, canonical axes) instead of the input's grid. @default false */
  upsample?: boolean;
  /**
   * `"18"` (or `"all"`): every class of the card; otherwise the name of one
   * of the card's merges (`"spm"`: SIAM's 6 SPM12 tissue classes). @default "18"
   */
  classes?: string;
  /** Also return probability maps. @default false */
  tpm?: boolean;
  /** Softmax temperature for probabilities (and merges). @default 1 */
  tpmT?: number;
  /** Use the card's low-memory patch (192x192x128 for SIAM). @default false */
  lowmem?: boolean;
  /** CPU threads. @default min(cores, 16) */
  threads?: number;
  /**
   * Tile step as a fraction of the patch, 0 < step ≤ 1 (nnU-Net's
   * `tile_step_size`; for cards with MONAI's scan the overlap becomes
   * `1 - step`). @default the card's (0.5 for nnU-Net cards)
   */
  step?: number;
  /**
   * Test-time augmentation: every tile also runs mirrored over each subset
   * of the three spatial axes (8 network passes), the outputs averaged as
   * nnU-Net's predictor does. @default false
   */
  tta?: boolean;
}

/** A validated run: what every stage will do. */
export interface Plan {
  /** The parsed card. */
  card: ModelCard;
  /** Patch (z, y, x): the one asked for, else the card's (its low-memory one with `lowmem`). */
  patch: Shape3;
  /** Whether the patch was asked for (an automatic choice may replace one that was not). */
  patchGiven: boolean;
  /** Whether the network runs on the whole volume (no tiles). */
  whole: boolean;
  /** Working spacing (z, y, x) in mm. */
  spacing: Shape3;
  /** The class merge asked for (`-C NAME`), if any. */
  merge?: ClassMerge;
  /** Output grid. */
  grid: "input" | "working";
  /** Whether probabilities are returned. */
  probabilities: boolean;
  /** Softmax temperature. */
  temperature: number;
  /** The label table of the output (merged classes with a merge). */
  labelTable: ClassInfo[];
  /** Intracranial classes of that table. */
  intracranial: number[];
  /** How the network meets the volume: the card's inference with `step` applied. */
  inference: Inference;
  /** The tile step (fraction of the patch) of a sliding window; undefined for whole-volume cards. */
  step?: number;
  /** Whether every tile runs mirrored over the 8 subsets of the axes (`tta`). */
  tta: boolean;
}

/**
 * Makes the plan, or throws a {@linkcode UsageError} naming the first
 * conflict. Pure: reads no file.
 */
export function makePlan(options: PlanOptions = {}): Plan {
  const card = options.card === undefined ? SIAM_V03 : options.card.inference ? options.card : validateCard(
    options.card,
    options.card.id ?? "card",
  );
  const whole = card.inference!.mode === "whole";
  if (whole && options.patch !== undefined) {
    throw new UsageError(`-P: the ${card.name} card runs the whole volume (no patches)`);
  }
  const patch = options.patch === undefined
    ? [...(options.lowmem ? card.lowmemPatch : card.patch)] as Shape3
    : typeof options.patch === "string"
    ? parsePatch(options.patch)
    : [...options.patch] as Shape3;
  if (patch.length !== 3 || patch.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new UsageError(`-P needs three positive integers ZxYxX, got ${patch.join("x")}`);
  }
  const bad = checkPatch(card, patch);
  if (bad) throw new UsageError(bad);
  if (typeof options.spacing === "number" && !(Number.isFinite(options.spacing) && options.spacing > 0)) {
    throw new UsageError(`-u ${options.spacing}: the spacing must be a positive number of millimetres`);
  }
  const spacing = spacingOf(card, options.spacing);
  let merge: ClassMerge | undefined;
  const name = options.classes;
  if (name !== undefined && name !== "18" && name !== "all") {
    merge = card.merges?.[name];
    if (!merge) {
      const names = Object.keys(card.merges ?? {});
      throw new UsageError(
        `-C ${name}: the ${card.name} card has no ${name === "spm" ? "SPM" : `"${name}"`} merge (${
          names.length ? `it has ${names.join(", ")}` : "it has none"
        }; or 18/all for every class)`,
      );
    }
  }
  if (options.upsample && (card.resampling.method ?? "nnunet") === "none") {
    throw new UsageError(`--upsample: the ${card.name} card runs on the input grid (there is no working grid to keep)`);
  }
  const temperature = options.tpmT ?? 1;
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new UsageError(`--tpm-t ${options.tpmT}: the temperature must be a positive number`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new UsageError(`-t ${options.threads}: threads must be a positive integer`);
  }
  const inference = withStep(card.inference!, options.step, card.name);
  return {
    card,
    inference,
    step: inference.mode === "whole" ? undefined : inference.step ?? 1 - inference.overlap,
    tta: options.tta ?? false,
    patch,
    patchGiven: options.patch !== undefined,
    whole,
    spacing,
    merge,
    grid: options.upsample ? "working" : "input",
    probabilities: options.tpm ?? false,
    temperature,
    labelTable: merge ? merge.classes : card.classes,
    intracranial: merge ? merge.intracranial : card.intracranial,
  };
}

/**
 * The card's inference with the tile step asked for: nnU-Net starts take it
 * as `step`, MONAI's scan as `overlap = 1 - step`. A usage error for a
 * step outside (0, 1] or for a card that runs the whole volume.
 */
function withStep(inf: Inference, step: number | undefined, cardName: string): Inference {
  if (step === undefined) return inf;
  if (!(Number.isFinite(step) && step > 0 && step <= 1)) {
    throw new UsageError(`--step ${step}: the tile step must be a fraction of the patch, 0 < S <= 1`);
  }
  if (inf.mode === "whole") throw new UsageError(`--step: the ${cardName} card runs the whole volume (no tiles)`);
  return inf.starts === "monai" ? { ...inf, overlap: 1 - step, step: undefined } : { ...inf, step };
}
