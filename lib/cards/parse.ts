/**
 * Parsing a model card: one pure function from JSON to a complete card
 * (legacy flat fields read once, defaults filled), and loading from a file.
 *
 * @module
 */
import { EXIT_USAGE, InputError, shownValue } from "../core/errors.ts";
import type { Inference } from "../inference/window.ts";
import { type ClassMerge, isBidsLabel, type ModelCard, type NormalizationStep, type Preprocessing } from "./card.ts";
import { parseJsonBounded } from "../core/limits.ts";

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
  for (const f of c.weights.files as unknown[]) {
    if (!isPlainFileName(f)) {
      throw new InputError(
        where,
        `invalid model card: weights file ${shownValue(f, 80)} must be a plain file name (no folders, no "..")`,
        EXIT_USAGE,
      );
    }
  }
  for (const [k, u] of Object.entries(c.weights.urls as Record<string, unknown>)) {
    const why = downloadUrlProblem(u);
    if (why) throw new InputError(where, `invalid model card: weights.urls.${k} ${why}`, EXIT_USAGE);
  }
  c.weights.sha256 ??= {};
  return c;
}

/** Whether `name` is a plain file name: no path separators, not `.`/`..`, no control characters. */
export function isPlainFileName(name: unknown): name is string {
  // deno-lint-ignore no-control-regex
  return typeof name === "string" && name.length > 0 && name.length <= 255 && !/[\\/\x00-\x1f]/.test(name) &&
    name !== "." && name !== "..";
}

/**
 * Why a weights URL (or URL prefix) may not be downloaded from, or
 * undefined when it may: only `https:`, and `http:` to the loopback
 * interface (for tests); never `file:` or anything else. An empty string
 * (no download source: weights are staged by hand) is allowed.
 */
export function downloadUrlProblem(url: unknown): string | undefined {
  if (typeof url !== "string") return "must be a URL string";
  if (url === "") return undefined; // no download source (weights staged by hand)
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${shownValue(url, 80)} is not a URL`;
  }
  if (u.protocol === "https:") return undefined;
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
  if (u.protocol === "http:" && loopback) return undefined;
  return `${shownValue(url, 80)}: weights are downloaded over https: only (http: to localhost for tests)`;
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
 * Loads and validates a card from a JSON file (a one-line error names the
 * file and the problem).
 *
 * @example
 * ```ts
 * import { loadCard } from "./parse.ts";
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
    raw = parseJsonBounded(text);
  } catch (e) {
    throw new InputError(path, `model card is not JSON (${(e as Error).message})`);
  }
  return validateCard(raw, path);
}
