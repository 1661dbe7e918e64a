/**
 * Model cards of kind `prompt-2d`: 2-D prompt networks (an image encoder
 * and a prompt decoder, SAM's ONNX interface), their preprocessing recipe,
 * prompt encoding and mask rule. `models/samri-vit-b.json` is the shipped
 * one. The recipe fields name the one chain this module implements; a card
 * that names another is refused (rather than silently run the wrong way).
 *
 * @module
 */
import samri from "../../models/samri-vit-b.json" with { type: "json" };
import { SiamizeError } from "../core/errors.ts";
import type { PixelStats } from "./preprocess.ts";

/** One network of a prompt card: its file name in the cache and declared tensors. */
export interface PromptNetwork {
  /** File name in the weights cache (`-M` names other files). */
  file: string;
  /** Input names → shape (a string for a symbolic dimension). */
  inputs: Record<string, (number | string)[]>;
  /** Output names → shape. */
  outputs: Record<string, (number | string)[]>;
}

/** A parsed `prompt-2d` card. */
export interface PromptCard {
  /** `"prompt-2d"`. */
  kind: "prompt-2d";
  /** Card id (`samri-vit-b`). */
  id: string;
  /** Display name. */
  name: string;
  /** Version (the source commit for SAMRI). */
  version: string;
  /** One-line description. */
  description: string;
  /** The image encoder (one input, the embeddings out) and the prompt decoder. */
  networks: { encoder: PromptNetwork; decoder: PromptNetwork };
  /** Longest side after resizing, and the padded square's side. */
  longSide: number;
  /** Per-channel normalisation. */
  stats: PixelStats;
  /** The mask: decoder output, mask token index, threshold, score output. */
  mask: { output: string; index: number; threshold: number; score: string };
  /** Whether weights can be downloaded, and what to do otherwise. */
  weights: { available: boolean; note: string };
}

const RECIPE: Record<string, string> = {
  "preprocessing.intensity": "minmax-uint8-rint",
  "preprocessing.channels": "grey-to-rgb",
  "preprocessing.resize": "pillow-bilinear",
  "preprocessing.pad": "bottom-right-zero",
  "prompts.coordinates": "x-column-y-row-float32",
  "prompts.box": "corners-labels-2-3",
  "prompts.default": "full-image-box",
};

/** The decoder inputs of SAM's ONNX interface, which this module feeds. */
export const SAM_DECODER_INPUTS = [
  "image_embeddings",
  "point_coords",
  "point_labels",
  "mask_input",
  "has_mask_input",
  "orig_im_size",
] as const;

type Json = Record<string, unknown>;

function at(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split(".")) cur = cur && typeof cur === "object" ? (cur as Json)[k] : undefined;
  return cur;
}

function network(raw: unknown, field: string, where: string): PromptNetwork {
  const fail = (m: string): never => {
    throw new SiamizeError(`${where}: ${field}: ${m}`, 65);
  };
  if (!raw || typeof raw !== "object") fail("missing");
  const n = raw as Json;
  if (typeof n.file !== "string" || !n.file) fail("file: a file name is needed");
  for (const k of ["inputs", "outputs"]) {
    const t = n[k];
    if (!t || typeof t !== "object" || !Object.keys(t).length) fail(`${k}: a map of tensor names to shapes is needed`);
    for (const [name, shape] of Object.entries(t as Json)) {
      if (!Array.isArray(shape) || !shape.every((d) => typeof d === "string" || (Number.isInteger(d) && d > 0))) {
        fail(`${k}.${name}: a shape (positive integers or names) is needed`);
      }
    }
  }
  return {
    file: n.file as string,
    inputs: n.inputs as PromptNetwork["inputs"],
    outputs: n.outputs as PromptNetwork["outputs"],
  };
}

/**
 * Validates a parsed `prompt-2d` card; errors (exit 65) name `where` and the field.
 *
 * @example
 * ```ts
 * import { SAMRI_VIT_B } from "./card.ts";
 *
 * console.log(SAMRI_VIT_B.longSide, SAMRI_VIT_B.mask.index); // 1024 0
 * ```
 */
export function parsePromptCard(raw: unknown, where: string): PromptCard {
  const fail = (m: string): never => {
    throw new SiamizeError(`${where}: ${m}`, 65);
  };
  if (!raw || typeof raw !== "object") fail("not a JSON object");
  const c = raw as Json;
  if (c.kind !== "prompt-2d") fail(`kind: "prompt-2d" expected, got ${JSON.stringify(c.kind)}`);
  for (const k of ["id", "name", "version"]) if (typeof c[k] !== "string" || !c[k]) fail(`${k}: a string is needed`);
  for (const [path, want] of Object.entries(RECIPE)) {
    const got = at(c, path);
    if (got !== want) fail(`${path}: only "${want}" is implemented, got ${JSON.stringify(got)}`);
  }
  const encoder = network(at(c, "networks.encoder"), "networks.encoder", where);
  const decoder = network(at(c, "networks.decoder"), "networks.decoder", where);
  if (Object.keys(encoder.inputs).length !== 1) fail("networks.encoder.inputs: one image input is expected");
  const missing = SAM_DECODER_INPUTS.filter((k) => !(k in decoder.inputs));
  if (missing.length) fail(`networks.decoder.inputs: SAM's decoder inputs lack ${missing.join(", ")}`);
  const longSide = at(c, "preprocessing.longSide");
  if (!Number.isInteger(longSide) || (longSide as number) < 16) {
    fail("preprocessing.longSide: an integer ≥ 16 is needed");
  }
  const triple = (path: string, positive: boolean): [number, number, number] => {
    const v = at(c, path);
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number" && (!positive || x > 0))) {
      fail(`${path}: three ${positive ? "positive " : ""}numbers are needed`);
    }
    return v as [number, number, number];
  };
  const mask = at(c, "mask") as Json | undefined;
  if (!mask || typeof mask.output !== "string" || !(mask.output in decoder.outputs)) {
    fail("mask.output: one of the decoder's outputs is needed");
  }
  if (!Number.isInteger(mask!.index) || (mask!.index as number) < 0) fail("mask.index: a mask token index is needed");
  if (typeof mask!.threshold !== "number") fail("mask.threshold: a number is needed");
  if (typeof mask!.score !== "string" || !(mask!.score in decoder.outputs)) {
    fail("mask.score: one of the decoder's outputs is needed");
  }
  const w = (c.weights ?? {}) as Json;
  return {
    kind: "prompt-2d",
    id: c.id as string,
    name: c.name as string,
    version: c.version as string,
    description: typeof c.description === "string" ? c.description : "",
    networks: { encoder, decoder },
    longSide: longSide as number,
    stats: { mean: triple("preprocessing.pixelMean", false), std: triple("preprocessing.pixelStd", true) },
    mask: {
      output: mask!.output as string,
      index: mask!.index as number,
      threshold: mask!.threshold as number,
      score: mask!.score as string,
    },
    weights: { available: w.available === true, note: typeof w.note === "string" ? w.note : "" },
  };
}

/** The shipped SAMRI (ViT-B) card, `models/samri-vit-b.json`. */
export const SAMRI_VIT_B: PromptCard = parsePromptCard(samri as unknown, "models/samri-vit-b.json");

/** Reads a `prompt-2d` card: `samri-vit-b` (shipped) or a JSON file. */
export async function resolvePromptCard(spec: string): Promise<PromptCard> {
  if (spec === SAMRI_VIT_B.id || spec === `${SAMRI_VIT_B.id}.json`) {
    try {
      await Deno.stat(spec);
    } catch {
      return SAMRI_VIT_B;
    }
  }
  let text: string;
  try {
    text = await Deno.readTextFile(spec);
  } catch {
    throw new SiamizeError(`--card ${spec}: no such prompt card (shipped: ${SAMRI_VIT_B.id}) and no such file`, 66);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SiamizeError(`${spec}: not JSON (${(e as Error).message})`, 65);
  }
  return parsePromptCard(raw, spec);
}
