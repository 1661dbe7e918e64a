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
  index: number;
  name: string;
  abbreviation: string;
  /** RGBA, 0-255. */
  color: [number, number, number, number];
  /** BIDS generic label (BG, GM, WM, CSF, CGM, SGM, CBM, Bone, ST, NB, Les, …). */
  bids: string;
}

/** A model card (see `models/siam-v0.3.json`). */
export interface ModelCard {
  id: string;
  name: string;
  version: string;
  description: string;
  homepage?: string;
  input: { name: string; channels: number; normalization: { type: string }[] };
  output: { name: string };
  /** Target spacing (z, y, x) in mm. */
  spacing: [number, number, number];
  /** Default patch (z, y, x). */
  patch: [number, number, number];
  /** Each patch axis must be a multiple of these (z, y, x). */
  patchMultiple: [number, number, number];
  /** Patch used by `--lowmem`. */
  lowmemPatch: [number, number, number];
  tileStep: number;
  blending: { type: "gaussian"; sigmaScale: number; valueScale: number };
  resampling: { image: 1 | 3; logits: 1 | 3 };
  classes: ClassInfo[];
  /** Indices of intracranial classes (for total intracranial volume). */
  intracranial: number[];
  /** SPM12 6-class merge: classes and the map from each model class. */
  spm?: { classes: ClassInfo[]; map: number[]; intracranial: number[] };
  weights: {
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

/** Loads and validates a card from a JSON file. */
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

/** The SIAM v0.3 card shipped with the package. */
export const SIAM_V03: ModelCard = validateCard(siam03 as unknown, "models/siam-v0.3.json");
