/**
 * The prompt segmenter: an image encoder run once per slice, then a prompt
 * decoder per prompt (SAM's ONNX interface, as a `prompt-2d` card
 * describes it). The mask is SAMRI's: mask token `card.mask.index` of the
 * decoder's `masks` output (already at the slice's size) above the card's
 * threshold.
 *
 * The sessions come from a {@linkcode GraphOpener} — onnxruntime-node's
 * (`prompter.ts` registers it as the default) or onnxruntime-web's in the
 * browser tab (`options.open`) — so this module imports no runtime and the
 * page bundles it.
 *
 * @module
 */
import { SiamizeError } from "../core/errors.ts";
import type { Compute } from "../core/types.ts";
import type { F32Tensor, GraphConfig, GraphOpener, GraphSession } from "../engine/graph_session.ts";
import { type PromptCard, SAM_DECODER_INPUTS } from "./card.ts";
import type { U8Image } from "./pillow_resize.ts";
import { type Prepared, prepareRgb, prepareSlice, type Slice2D } from "./preprocess.ts";
import { encodePrompt, type Prompt } from "./prompts.ts";
import { sliceOf2D, type SliceRef, takeSlice } from "./slice.ts";
import type { Volume } from "../core/types.ts";

/** A model given to {@linkcode Prompter.open}: a path, ONNX bytes, or bytes with the file's name (for messages). */
export type ModelInput = string | Uint8Array | { name: string; bytes: Uint8Array };

let defaultOpener: GraphOpener | undefined;

/**
 * Sets the {@linkcode GraphOpener} used when {@linkcode PrompterOptions.open}
 * is not given (`prompter.ts` sets onnxruntime-node's `openGraph`).
 */
export function setDefaultGraphOpener(open: GraphOpener): void {
  defaultOpener = open;
}

/** Options of {@linkcode Prompter.open}. */
export interface PrompterOptions {
  /** The encoder and the decoder (paths or bytes). */
  models: { encoder: ModelInput; decoder: ModelInput };
  /** Provider (`auto` runs on the CPU on onnxruntime-node). @default "auto" */
  compute?: Compute;
  /** The encoder's provider, when it differs from `compute` (the tab: WebGPU where offered). @default compute */
  encoderCompute?: Compute;
  /**
   * Opens the sessions. @default onnxruntime-node's `openGraph` (where
   * `prompter.ts` is imported)
   */
  open?: GraphOpener;
  /** CPU threads. @default min(cores, 16) */
  threads?: number;
  /** GPU device id. @default 0 */
  gpu?: number;
  /**
   * Embeddings cache: looked up before the encoder runs, filled after. See
   * {@linkcode EmbeddingStore}.
   */
  cache?: EmbeddingStore;
  /**
   * Load (and check) the encoder only when a slice is not in the cache, so
   * that a prompt on a cached slice never reads the encoder. @default false
   */
  lazyEncoder?: boolean;
}

/** Where embeddings are kept between runs (e.g. files in the weights cache). */
export interface EmbeddingStore {
  /** The embedding stored for `key`, if any. */
  get(key: string): Promise<Float32Array | undefined>;
  /** Stores an embedding. */
  set(key: string, value: Float32Array): Promise<void>;
  /** The key for a prepared slice (content and encoder). */
  key(prepared: Prepared): Promise<string>;
}

/** An embedded slice: what the decoder needs besides the prompt. */
export interface Embedded {
  /** The slice's rows (H). */
  height: number;
  /** The slice's columns (W). */
  width: number;
  /** The image embeddings (the encoder's output). */
  embeddings: Float32Array;
  /** The preprocessed slice (uint8 RGB, resized, encoder input). */
  prepared: Prepared;
  /** Whether the embeddings came from the cache. */
  cached: boolean;
}

/** A predicted mask. */
export interface Prediction {
  /** Rows (H). */
  height: number;
  /** Columns (W). */
  width: number;
  /** 0/1 per pixel, row-major (H, W). */
  mask: Uint8Array;
  /** The decoder's predicted IoU for the mask. */
  score: number;
  /** The mask's low-resolution logits (256x256), before upscaling. */
  lowRes: Float32Array;
  /** The decoder's prompt inputs as fed. */
  feed: { coords: Float32Array; labels: Float32Array };
}

function label(m: ModelInput, what: string): string {
  return typeof m === "string" ? m : m instanceof Uint8Array ? `${what} (bytes)` : m.name;
}

function source(m: ModelInput): string | Uint8Array {
  return typeof m === "string" || m instanceof Uint8Array ? m : m.bytes;
}

function opener(options: PrompterOptions): GraphOpener {
  const open = options.open ?? defaultOpener;
  if (!open) throw new SiamizeError("Prompter.open: no ONNX Runtime to open the networks with (options.open)", 1);
  return open;
}

function config(options: PrompterOptions, compute = options.compute): GraphConfig {
  return { compute, threads: options.threads, gpu: options.gpu };
}

function shapeText(s: (number | string)[] | undefined): string {
  return s ? `[${s.join(",")}]` : "unknown";
}

/** Checks the decoder's declared inputs against the card; a one-line error naming the file otherwise. */
function checkDecoder(session: GraphSession, card: PromptCard, name: string): void {
  const got = session.inputs.map((i) => i.name);
  const missing = SAM_DECODER_INPUTS.filter((k) => !got.includes(k));
  const extra = got.filter((k) => !(SAM_DECODER_INPUTS as readonly string[]).includes(k));
  if (missing.length || extra.length) {
    throw new SiamizeError(
      `${name}: decoder inputs ${got.join(", ")} do not match the card ${card.id} (${
        missing.length ? `missing ${missing.join(", ")}` : `unexpected ${extra.join(", ")}`
      })`,
      65,
    );
  }
  for (const i of session.inputs) {
    const want = card.networks.decoder.inputs[i.name];
    if (!i.shape || !want) continue;
    const bad = i.shape.length !== want.length ||
      i.shape.some((d, k) => typeof d === "number" && typeof want[k] === "number" && d !== want[k]);
    if (bad) {
      throw new SiamizeError(
        `${name}: decoder input ${i.name} has shape ${shapeText(i.shape)}, the card ${card.id} says ${shapeText(want)}`,
        65,
      );
    }
  }
  for (const o of [card.mask.output, card.mask.score]) {
    if (!session.outputs.some((x) => x.name === o)) {
      throw new SiamizeError(`${name}: decoder has no output ${o} (the card ${card.id} needs it)`, 65);
    }
  }
}

function checkEncoder(session: GraphSession, card: PromptCard, name: string): void {
  const [input] = Object.keys(card.networks.encoder.inputs);
  const [output] = Object.keys(card.networks.encoder.outputs);
  if (session.inputs.length !== 1 || session.inputs[0].name !== input) {
    throw new SiamizeError(
      `${name}: encoder inputs ${
        session.inputs.map((i) => i.name).join(", ")
      } do not match the card ${card.id} (${input})`,
      65,
    );
  }
  if (!session.outputs.some((o) => o.name === output)) {
    throw new SiamizeError(`${name}: encoder has no output ${output} (the card ${card.id} needs it)`, 65);
  }
}

/** Opens the encoder and checks it against the card (released again if it does not match). */
async function openEncoder(options: PrompterOptions, card: PromptCard): Promise<GraphSession> {
  const name = label(options.models.encoder, "encoder");
  const cfg = config(options, options.encoderCompute ?? options.compute);
  const encoder = await opener(options)(source(options.models.encoder), name, cfg);
  try {
    checkEncoder(encoder, card, name);
    return encoder;
  } catch (e) {
    await encoder.release();
    throw e;
  }
}

/**
 * Segments 2-D slices from box and point prompts.
 *
 * ```ts ignore
 * const p = await Prompter.open(SAMRI_VIT_B, { models: { encoder: "enc.onnx", decoder: "dec.onnx" } });
 * await p.embed(await readVolume("T1.nii.gz"), { axis: 2, index: 80 });
 * const { mask, score } = await p.predict({ box: [100, 50, 165, 125] }); // (H, W) row-major 0/1
 * await p.close();
 * ```
 */
export class Prompter {
  /** The card. */
  readonly card: PromptCard;
  #encoder?: GraphSession;
  #decoder: GraphSession;
  #names: { input: string; output: string };
  #options: PrompterOptions;
  #last?: Embedded;

  private constructor(
    card: PromptCard,
    encoder: GraphSession | undefined,
    decoder: GraphSession,
    options: PrompterOptions,
    names: { input: string; output: string },
  ) {
    this.card = card;
    this.#encoder = encoder;
    this.#decoder = decoder;
    this.#options = options;
    this.#names = names;
  }

  /**
   * Loads the decoder (checked against the card) and the encoder; the
   * encoder can be released early with {@linkcode releaseEncoder} and is
   * loaded again when a slice needs it.
   */
  static async open(card: PromptCard, options: PrompterOptions): Promise<Prompter> {
    const decName = label(options.models.decoder, "decoder");
    const decoder = await opener(options)(source(options.models.decoder), decName, config(options));
    try {
      checkDecoder(decoder, card, decName);
      const names = {
        input: Object.keys(card.networks.encoder.inputs)[0],
        output: Object.keys(card.networks.encoder.outputs)[0],
      };
      const encoder = options.lazyEncoder ? undefined : await openEncoder(options, card);
      return new Prompter(card, encoder, decoder, options, names);
    } catch (e) {
      await decoder.release();
      throw e;
    }
  }

  /** The provider running the decoder. */
  get provider(): string {
    return this.#decoder.provider;
  }

  /** The provider of the encoder session open now (undefined while it is released). */
  get encoderProvider(): string | undefined {
    return this.#encoder?.provider;
  }

  /** Frees the encoder session (it is opened again if another slice needs it). */
  async releaseEncoder(): Promise<void> {
    const e = this.#encoder;
    this.#encoder = undefined;
    if (e) await e.release();
  }

  /**
   * Preprocesses a slice and runs the encoder on it (or takes the
   * embeddings from the cache). The slice is grey values ({@linkcode Slice2D}),
   * an 8-bit RGB image, or a volume: `ref` picks `vol.take(index, axis)`
   * of its stored array; without `ref` the volume must hold one 2-D image
   * (SAMRI's `(1, H, W)`, `(H, W)`, `(H, W, 1)`). The result is also kept
   * as the slice {@linkcode predict} uses when given a prompt alone.
   */
  async embed(source: Slice2D | U8Image | Volume, ref?: SliceRef): Promise<Embedded> {
    const slice = "dims" in source
      ? (ref ? takeSlice(source, ref, "volume") : sliceOf2D(source, "volume").slice)
      : source;
    const prepared = "channels" in slice
      ? prepareRgb(slice, this.card.longSide, this.card.stats)
      : prepareSlice(slice, this.card.longSide, this.card.stats);
    const cache = this.#options.cache;
    const key = cache ? await cache.key(prepared) : "";
    const hit = cache ? await cache.get(key) : undefined;
    const [, c, h, w] = this.card.networks.encoder.outputs[this.#names.output] as number[];
    if (hit && hit.length === c * h * w) {
      return this.#last = { height: slice.height, width: slice.width, embeddings: hit, prepared, cached: true };
    }
    this.#encoder ??= await openEncoder(this.#options, this.card);
    const s = this.card.longSide;
    const out = await this.#encoder.run({ [this.#names.input]: { data: prepared.input, dims: [1, 3, s, s] } }, [
      this.#names.output,
    ]);
    const embeddings = out[this.#names.output].data;
    if (cache) await cache.set(key, embeddings);
    return this.#last = { height: slice.height, width: slice.width, embeddings, prepared, cached: false };
  }

  /**
   * Runs the decoder for one prompt: on `embedded`, or on the slice
   * embedded last when only a prompt is given (`p.predict({ box })`).
   */
  async predict(embeddedOrPrompt: Embedded | Prompt, prompt?: Prompt): Promise<Prediction> {
    const given = "embeddings" in embeddedOrPrompt;
    const embedded = given ? embeddedOrPrompt : this.#last;
    if (!embedded) throw new SiamizeError("predict: no slice embedded yet (call embed first)", 64);
    prompt = given ? prompt ?? {} : embeddedOrPrompt as Prompt;
    const { height: H, width: W } = embedded;
    const p = encodePrompt(prompt, H, W, this.card.longSide);
    const emb = this.card.networks.decoder.inputs.image_embeddings as number[];
    const mi = this.card.networks.decoder.inputs.mask_input as number[];
    const feeds: Record<string, F32Tensor> = {
      image_embeddings: { data: embedded.embeddings, dims: emb },
      point_coords: { data: p.coords, dims: [1, p.count, 2] },
      point_labels: { data: p.labels, dims: [1, p.count] },
      mask_input: { data: new Float32Array(mi.reduce((a, b) => a * b, 1)), dims: mi },
      has_mask_input: { data: new Float32Array([0]), dims: [1] },
      orig_im_size: { data: new Float32Array([H, W]), dims: [2] },
    };
    const { output, score, index, threshold } = this.card.mask;
    const names = [output, score];
    const lowName = this.#decoder.outputs.find((o) => o.name === "low_res_masks")?.name;
    if (lowName) names.push(lowName);
    const out = await this.#decoder.run(feeds, names);
    const masks = out[output];
    const [, k, mh, mw] = masks.dims;
    if (mh !== H || mw !== W || index >= k) {
      throw new SiamizeError(`decoder returned masks [${masks.dims.join(",")}] for a ${W}x${H} slice`, 65);
    }
    const plane = masks.data.subarray(index * H * W, (index + 1) * H * W);
    const mask = new Uint8Array(H * W);
    for (let i = 0; i < mask.length; i++) mask[i] = plane[i] > threshold ? 1 : 0;
    const lr = lowName ? out[lowName] : undefined;
    const n = lr ? lr.dims[2] * lr.dims[3] : 0;
    const lowRes = lr ? lr.data.slice(index * n, (index + 1) * n) : new Float32Array(0);
    return {
      height: H,
      width: W,
      mask,
      score: out[score].data[index],
      lowRes,
      feed: { coords: p.coords, labels: p.labels },
    };
  }

  /** Frees both sessions. */
  async close(): Promise<void> {
    await this.releaseEncoder();
    await this.#decoder.release();
  }
}
